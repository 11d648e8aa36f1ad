#!/usr/bin/env bash
# Build the images the tests use, locally: no registry is reachable from our
# machines. shoal-test/busybox:1 is Debian's static busybox with its applets
# (sh, httpd, nc, wget, ...) imported as a one-layer image.
set -euo pipefail
IMAGE=shoal-test/busybox:1
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE already present"
  exit 0
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/www" "$root/proc" "$root/sys" "$root/dev"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo 'shoal test page' >"$root/www/index.html"
tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
echo "built $IMAGE"
