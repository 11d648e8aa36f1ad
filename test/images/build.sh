#!/usr/bin/env bash
# Build the images the tests use, locally: no registry is reachable from our
# machines. shoal-test/busybox:1 is Debian's static busybox with its applets
# (sh, httpd, nc, wget, ...) imported as a one-layer image. shoal-test/web:1
# and :2 are the same files with a default command that serves /www on port
# 8080 (two tags, for rolling updates).
set -euo pipefail
build () {
  local image=$1; shift
  if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image already present"
    return
  fi
  local root
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/www" "$root/proc" "$root/sys" "$root/dev"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  echo 'shoal test page' >"$root/www/index.html"
  tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' "$@" - "$image" >/dev/null
  rm -rf "$root"
  echo "built $image"
}
build shoal-test/busybox:1 -c 'CMD ["/bin/sh"]'
build shoal-test/web:1 -c 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]' -c 'EXPOSE 8080/tcp'
build shoal-test/web:2 -c 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]' -c 'EXPOSE 8080/tcp'

# shoal-test/standin:1, a stand-in for a VM in the install tests: a root
# with this machine's /etc and the usual top-level links; the container is run
# with this machine's /usr mounted read-only, so it has the same programs.
build_standin () {
  local image=shoal-test/standin:1
  if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image already present"
    return
  fi
  local root
  root=$(mktemp -d)
  mkdir -p "$root"/{usr,proc,sys,dev,run,tmp,var/lib,var/log,root,opt}
  ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
  cp -a /etc "$root/etc"
  rm -f "$root/etc/machine-id" "$root/etc/hostname" "$root/etc/shadow" "$root/etc/gshadow" "$root"/etc/ssh/ssh_host_*_key
  : >"$root/etc/fstab"
  tar -C "$root" -c . | docker import - "$image" >/dev/null
  rm -rf "$root"
  echo "built $image"
}
build_standin
