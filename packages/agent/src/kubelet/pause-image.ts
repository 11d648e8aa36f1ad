import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type Docker from 'dockerode'
import { followProgress } from './docker-stream.ts'

/**
 * The sandbox image: Shoal's counterpart of Kubernetes' pause container. It
 * only holds the pod's network namespace, so it needs one tiny program that
 * sleeps forever. No registry is reachable from our machines, so the agent
 * makes the image itself: a one-file root filesystem (`/pause`, a hand-made
 * static ELF executable), loaded into Docker as `shoal/pause:1`.
 */
export const PAUSE_IMAGE = 'shoal/pause:1'

/** Where an ELF executable is loaded: the classic base address of a static x86-64/aarch64 binary. */
const LOAD_ADDRESS = 0x400000n
const ELF_HEADER_SIZE = 64
const PROGRAM_HEADER_SIZE = 56
/** The code starts right after the ELF header and its single program header. */
const CODE_OFFSET = ELF_HEADER_SIZE + PROGRAM_HEADER_SIZE

/**
 * The machine code, per architecture: a loop around a syscall that blocks
 * until a signal arrives. PID 1 has no handler for anything, so SIGTERM and
 * SIGINT are ignored (the sandbox is stopped with SIGKILL) and the loop only
 * guards against a spurious wake-up.
 */
const MACHINES = {
  x64: {
    eMachine: 0x3e, // EM_X86_64
    code: [
      0xb8, 0x22, 0x00, 0x00, 0x00, // mov eax, 34      ; __NR_pause
      0x0f, 0x05, //                   syscall
      0xeb, 0xf7 //                    jmp -9           ; back to mov
    ]
  },
  arm64: {
    eMachine: 0xb7, // EM_AARCH64
    // aarch64 has no pause(2): ppoll(NULL, 0, NULL, NULL) sleeps until a signal.
    // Little-endian 32-bit instruction words.
    code: [
      0xd2800000, // mov x0, #0        ; fds = NULL
      0xd2800001, // mov x1, #0        ; nfds = 0
      0xd2800002, // mov x2, #0        ; timeout = NULL (forever)
      0xd2800003, // mov x3, #0        ; sigmask = NULL
      0xd2800928, // mov x8, #73       ; __NR_ppoll
      0xd4000001, // svc #0
      0x17fffffa //  b -6 instructions ; back to the first mov
    ].flatMap(word => [word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24])
  }
} as const

export type PauseArch = keyof typeof MACHINES

/**
 * A minimal static ELF64 executable: the 64-byte ELF header, one PT_LOAD
 * program header mapping the whole file (read + execute) at LOAD_ADDRESS, and
 * the code, whose first byte is the entry point. No sections, no libc.
 */
export function pauseElf (arch: string = process.arch): Buffer {
  if (!(arch in MACHINES)) {
    throw new Error(`cannot build the pause image for architecture ${arch}: only x64 and arm64 are supported`)
  }
  const machine = MACHINES[arch as PauseArch]
  const size = CODE_OFFSET + machine.code.length
  const elf = Buffer.alloc(size)
  // e_ident: magic, ELFCLASS64, little-endian, version 1, System V ABI, padding.
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0)
  elf.writeUInt16LE(2, 16) //                          e_type: ET_EXEC
  elf.writeUInt16LE(machine.eMachine, 18) //           e_machine
  elf.writeUInt32LE(1, 20) //                          e_version
  elf.writeBigUInt64LE(LOAD_ADDRESS + BigInt(CODE_OFFSET), 24) // e_entry: the code
  elf.writeBigUInt64LE(BigInt(ELF_HEADER_SIZE), 32) // e_phoff: program headers follow the header
  elf.writeBigUInt64LE(0n, 40) //                      e_shoff: no section headers
  elf.writeUInt32LE(0, 48) //                          e_flags
  elf.writeUInt16LE(ELF_HEADER_SIZE, 52) //            e_ehsize
  elf.writeUInt16LE(PROGRAM_HEADER_SIZE, 54) //        e_phentsize
  elf.writeUInt16LE(1, 56) //                          e_phnum
  // e_shentsize, e_shnum, e_shstrndx stay 0.
  const ph = ELF_HEADER_SIZE
  elf.writeUInt32LE(1, ph) //                          p_type: PT_LOAD
  elf.writeUInt32LE(5, ph + 4) //                      p_flags: PF_R | PF_X
  elf.writeBigUInt64LE(0n, ph + 8) //                  p_offset: from the file's start
  elf.writeBigUInt64LE(LOAD_ADDRESS, ph + 16) //       p_vaddr
  elf.writeBigUInt64LE(LOAD_ADDRESS, ph + 24) //       p_paddr
  elf.writeBigUInt64LE(BigInt(size), ph + 32) //       p_filesz
  elf.writeBigUInt64LE(BigInt(size), ph + 40) //       p_memsz
  elf.writeBigUInt64LE(0x10000n, ph + 48) //           p_align: 64 KiB, fine for 4K and 64K pages
  elf.set(machine.code, CODE_OFFSET)
  return elf
}

/** A ustar archive of regular files at its top level. */
export function tarFiles (files: ReadonlyArray<{ name: string, mode: number, data: Buffer }>): Buffer {
  const blocks: Buffer[] = []
  for (const file of files) {
    const header = Buffer.alloc(512)
    const octal = (value: number, offset: number, width: number): void => {
      header.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, 'ascii')
    }
    header.write(file.name, 0, 100, 'utf8')
    octal(file.mode, 100, 8)
    octal(0, 108, 8) // uid
    octal(0, 116, 8) // gid
    octal(file.data.length, 124, 12)
    octal(0, 136, 12) // mtime: fixed, so the archive is reproducible
    header.write('0', 156, 'ascii') // typeflag: regular file
    header.write('ustar\u000000', 257, 'ascii') // magic "ustar\0", version "00"
    // Checksum: the header's byte sum with the checksum field read as spaces.
    header.fill(0x20, 148, 156)
    let sum = 0
    for (const byte of header) sum += byte
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii')
    blocks.push(header, file.data, Buffer.alloc((512 - (file.data.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024)) // two zero blocks end the archive
  return Buffer.concat(blocks)
}

/** Docker's and OCI's names for the architectures we have code for. */
const OCI_ARCH: Record<PauseArch, string> = { x64: 'amd64', arm64: 'arm64' }

function sha256 (data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * The image as a `docker save` archive: the one-layer root filesystem, an
 * image config with a fixed creation time, and a manifest naming it `image`.
 * The image ID is the config's digest, so every agent, on every engine,
 * makes the very same image, and two agents building it at once agree.
 */
export function pauseImageArchive (image: string = PAUSE_IMAGE, arch: string = process.arch): Buffer {
  const layer = tarFiles([{ name: 'pause', mode: 0o755, data: pauseElf(arch) }])
  const config = JSON.stringify({
    architecture: OCI_ARCH[arch as PauseArch],
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config: { Cmd: ['/pause'], Labels: { 'io.shoal.pause': '1' } },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layer)}`] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: 'shoal agent: hand-made pause executable' }]
  })
  const configName = `${sha256(config)}.json`
  const manifest = JSON.stringify([{ Config: configName, RepoTags: [image], Layers: ['layer.tar'] }])
  return tarFiles([
    { name: 'layer.tar', mode: 0o644, data: layer },
    { name: configName, mode: 0o644, data: Buffer.from(config) },
    { name: 'manifest.json', mode: 0o644, data: Buffer.from(manifest) }
  ])
}

/**
 * Make `image` (PAUSE_IMAGE by default) present: `docker load` it from an
 * in-memory archive when Docker lacks it. Resolves true when it was loaded
 * now, false when it was already there.
 */
export async function ensurePauseImage (docker: Docker, image: string = PAUSE_IMAGE, arch: string = process.arch): Promise<boolean> {
  if (await imageExists(docker, image)) return false
  const stream = await docker.loadImage(Readable.from([pauseImageArchive(image, arch)]), { quiet: true })
  await followProgress(stream)
  return true
}

async function imageExists (docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect()
    return true
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false
    throw err
  }
}
