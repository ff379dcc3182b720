/*
 * tjfs_fuse: the only native code of tjfs (see ../shared/spec/fuse-protocol.md §9.1).
 *
 * Purpose: what Node cannot do itself for a FUSE server:
 *   mount(source, target, fstype, flags, data)   mount(2)
 *   umount(target, flags)                        umount2(2)
 *   watch(fd, cb) -> {pause, resume, close, ref, unref}   uv_poll readiness on the JS thread
 *   ring(entries, onDone) -> {read, close}       positioned reads through an io_uring (no SQPOLL)
 *   readNonBlocking(fd, buf) -> n | -errno       read(2) without throwing on EAGAIN
 *   preadNoWait(fd, buf, pos) -> n | -errno      preadv2(RWF_NOWAIT): page-cached bytes only
 *   writeReply(fd, unique, error, bufs) -> 0 | -errno   a reply: header + payload, one writev
 *   keepHeap(bytes) -> bool                      mallopt: reuse freed block buffers
 *   crc32cPieces(data, piece, out)               CRC32C per piece (SSE4.2 when present)
 *   writeFileAtomic(tmp, path, bufs, mode, direct)  write + rename as one thread-pool job
 *   alignPad(buf, align) -> n                    bytes from buf's start to the next align boundary
 *   socketpair() -> [fd0, fd1], recvFd(sock) -> fd   fusermount3 (non-root) hand-off
 *   sendFd(sock, fd)                             SCM_RIGHTS: supervisor -> worker / new mount
 *   recvFdFrom(path, timeoutMs) -> {fd, data}    live upgrade: connect, take the fd + payload
 * Design: plain C over N-API (no libfuse, no C++), errors thrown as Error{code, errno, syscall}.
 * Invariants: the poll callback only runs on the JS thread; a closed watcher never calls back;
 * watcher memory is freed in the uv_close callback, never before.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), NULL, "tjfs_fuse: N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

/* Error{code, errno, syscall[, path]} like Node's system errors. */
static napi_value errno_error(napi_env env, int err, const char *syscall, const char *path) {
  char msg[4200];
  napi_value m, e, v;
  if (path != NULL)
    snprintf(msg, sizeof msg, "%s: %s, %s '%s'", uv_err_name(-err), strerror(err), syscall, path);
  else
    snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "code", v);
  napi_create_int32(env, err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  if (path != NULL) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, e, "path", v);
  }
  return e;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_throw(env, errno_error(env, err, syscall, NULL));
  return NULL;
}

/* Copies a JS string argument into a malloc'd C string (caller frees). */
static char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s == NULL) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static napi_value do_mount(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint32_t flags = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "mount(source, target, fstype, flags, data)");
    return NULL;
  }
  char *src = get_string(env, argv[0]), *tgt = get_string(env, argv[1]);
  char *type = get_string(env, argv[2]), *data = get_string(env, argv[4]);
  napi_get_value_uint32(env, argv[3], &flags);
  int rc = (src && tgt && type && data) ? mount(src, tgt, type, flags, data) : (errno = EINVAL, -1);
  int err = errno;
  free(src), free(tgt), free(type), free(data);
  if (rc != 0) return throw_errno(env, err, "mount");
  return NULL;
}

static napi_value do_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t flags = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *tgt = argc >= 1 ? get_string(env, argv[0]) : NULL;
  if (tgt == NULL) {
    napi_throw_type_error(env, NULL, "umount(target, flags)");
    return NULL;
  }
  if (argc >= 2) napi_get_value_int32(env, argv[1], &flags);
  int rc = umount2(tgt, flags);
  int err = errno;
  free(tgt);
  if (rc != 0) return throw_errno(env, err, "umount2");
  return NULL;
}

/* read(2) into a Buffer; returns bytes read or -errno (never throws for I/O errors). */
static napi_value do_read(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = 0;
  napi_value argv[2], out;
  int32_t fd = -1;
  void *data = NULL;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "readNonBlocking(fd, buffer)");
    return NULL;
  }
  ssize_t n = read(fd, data, len);
  CHECK(env, napi_create_int32(env, n < 0 ? -errno : (int32_t)n, &out));
  return out;
}

/*
 * preadNoWait(fd, buf, pos) -> bytes read or -errno: preadv2 with RWF_NOWAIT, which reads
 * only what the page cache holds and answers -EAGAIN instead of waiting for the disk. It
 * runs on the JS thread: a read that would block is never made here (the caller falls back
 * to a thread-pool read). -EOPNOTSUPP/-ENOSYS: the kernel or file system cannot do it.
 */
static napi_value do_pread_nowait(napi_env env, napi_callback_info info) {
  size_t argc = 3, len = 0;
  napi_value argv[3], out;
  int32_t fd = -1;
  int64_t pos = 0;
  void *data = NULL;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok ||
      napi_get_value_int64(env, argv[2], &pos) != napi_ok || pos < 0) {
    napi_throw_type_error(env, NULL, "preadNoWait(fd, buffer, position)");
    return NULL;
  }
#ifdef RWF_NOWAIT
  struct iovec iov = {data, len};
  ssize_t n = preadv2(fd, &iov, 1, (off_t)pos, RWF_NOWAIT);
  int32_t r = n < 0 ? -errno : (int32_t)n;
#else
  int32_t r = -ENOSYS;
#endif
  CHECK(env, napi_create_int32(env, r, &out));
  return out;
}

/*
 * writeReply(fd, unique, error, buffers) -> 0 or -errno: one reply as a single writev of the
 * 16-byte fuse_out_header (built here) and up to 63 payload buffers. Never throws for I/O
 * errors; a short write (the kernel takes a reply whole or not at all) is -EIO.
 */
/*
 * Points iov[0..n) at the Buffers of array `arr`, adding their lengths to *total. With `refs`,
 * also takes a reference to each (the bytes must outlive an async job); *taken counts them.
 * Returns 0, or -1 when an element is not a Buffer.
 */
static int buffers_to_iov(napi_env env, napi_value arr, uint32_t n, struct iovec *iov, size_t *total, napi_ref *refs, int *taken) {
  napi_value el;
  for (uint32_t i = 0; i < n; i++) {
    void *data = NULL;
    size_t len = 0;
    if (napi_get_element(env, arr, i, &el) != napi_ok || napi_get_buffer_info(env, el, &data, &len) != napi_ok) return -1;
    if (refs != NULL) napi_create_reference(env, el, 1, &refs[i]), *taken = (int)i + 1;
    iov[i].iov_base = data, iov[i].iov_len = len;
    *total += len;
  }
  return 0;
}

static napi_value do_write_reply(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  int32_t fd = -1, error = 0;
  uint64_t unique = 0;
  bool lossless = false;
  uint32_t n = 0;
  struct {
    uint32_t len;
    int32_t error;
    uint64_t unique;
  } hdr;
  struct iovec iov[64];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_bigint_uint64(env, argv[1], &unique, &lossless) != napi_ok ||
      napi_get_value_int32(env, argv[2], &error) != napi_ok ||
      napi_get_array_length(env, argv[3], &n) != napi_ok || n > 63) {
    napi_throw_type_error(env, NULL, "writeReply(fd, unique, error, buffers[<=63])");
    return NULL;
  }
  size_t total = sizeof hdr;
  iov[0].iov_base = &hdr, iov[0].iov_len = sizeof hdr;
  if (buffers_to_iov(env, argv[3], n, iov + 1, &total, NULL, NULL) != 0) {
    napi_throw_type_error(env, NULL, "writeReply: buffers must be Buffers");
    return NULL;
  }
  hdr.len = (uint32_t)total, hdr.error = error, hdr.unique = unique;
  ssize_t w;
  do w = writev(fd, iov, (int)n + 1); while (w < 0 && errno == EINTR);
  CHECK(env, napi_create_int32(env, w < 0 ? -errno : ((size_t)w == total ? 0 : -EIO), &out));
  return out;
}

/*
 * keepHeap(bytes): mallopt so that allocations up to `bytes` come from the heap and freed
 * memory is kept for reuse instead of being unmapped. A mount daemon allocates and frees
 * 4 MiB block buffers all the time; with glibc's defaults each one is a fresh mmap whose
 * pages all fault in again (a quarter of a cold read's CPU). Returns true when applied.
 */
static napi_value do_keep_heap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t bytes = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &bytes) != napi_ok || bytes <= 0) {
    napi_throw_type_error(env, NULL, "keepHeap(bytes)");
    return NULL;
  }
#ifdef M_MMAP_THRESHOLD
  int ok = mallopt(M_MMAP_THRESHOLD, bytes) == 1 && mallopt(M_TRIM_THRESHOLD, bytes * 8) == 1;
#else
  int ok = 0;
#endif
  CHECK(env, napi_get_boolean(env, ok != 0, &out));
  return out;
}

/*
 * CRC32C (Castagnoli) for the disk cache's block checksums: the SSE4.2 crc32 instruction when
 * the CPU has it (about ten times the JavaScript table version), a byte table otherwise.
 */
static uint32_t crc_table[256];

static int crc_hw = 0; /* set once at load (crc_table_init), before any pool job runs */

static void crc_table_init(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0x82f63b78u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t n) {
  while (n--) crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TJFS_CRC_HW 1
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t n) {
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
  }
  crc = (uint32_t)c;
  for (; n > 0; n--) crc = __builtin_ia32_crc32qi(crc, *p++);
  return crc;
}

/*
 * Three equal pieces at once: their CRCs are independent chains, so the crc32 instructions
 * of one overlap the latency of the others (about twice the bytes per second of one chain).
 */
__attribute__((target("sse4.2"))) static void crc32c_hw3(const uint8_t *a, const uint8_t *b, const uint8_t *c, size_t n,
                                                         uint32_t out[3]) {
  uint64_t x = 0xffffffffu, y = 0xffffffffu, z = 0xffffffffu;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t va, vb, vc;
    memcpy(&va, a + i, 8), memcpy(&vb, b + i, 8), memcpy(&vc, c + i, 8);
    x = __builtin_ia32_crc32di(x, va), y = __builtin_ia32_crc32di(y, vb), z = __builtin_ia32_crc32di(z, vc);
  }
  out[0] = ~crc32c_hw((uint32_t)x, a + i, n - i);
  out[1] = ~crc32c_hw((uint32_t)y, b + i, n - i);
  out[2] = ~crc32c_hw((uint32_t)z, c + i, n - i);
}
#endif


static uint32_t crc32c(const uint8_t *p, size_t n) {
  uint32_t crc = 0xffffffffu;
#ifdef TJFS_CRC_HW
  if (crc_hw) return ~crc32c_hw(crc, p, n);
#endif
  return ~crc32c_sw(crc, p, n);
}

/* alignPad(buf, align) -> bytes from buf's first byte to the next multiple of `align` (a power of 2). */
static napi_value do_align_pad(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = 0;
  napi_value argv[2], out;
  void *data = NULL;
  uint32_t align = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok || napi_get_value_uint32(env, argv[1], &align) != napi_ok ||
      align == 0 || (align & (align - 1)) != 0) {
    napi_throw_type_error(env, NULL, "alignPad(buffer, powerOfTwo)");
    return NULL;
  }
  CHECK(env, napi_create_uint32(env, (uint32_t)((align - (uintptr_t)data % align) % align), &out));
  return out;
}

/* out[i] = big-endian CRC32C of data[i*piece, (i+1)*piece): any thread. */
static void crc_pieces(const uint8_t *data, size_t len, size_t piece, uint8_t *o) {
  size_t off = 0;
#ifdef TJFS_CRC_HW
  for (; crc_hw && len - off >= 3 * piece; off += 3 * piece) {
    const uint8_t *p = data + off;
    uint32_t c[3];
    crc32c_hw3(p, p + piece, p + 2 * piece, piece, c);
    for (int k = 0; k < 3; k++, o += 4)
      o[0] = (uint8_t)(c[k] >> 24), o[1] = (uint8_t)(c[k] >> 16), o[2] = (uint8_t)(c[k] >> 8), o[3] = (uint8_t)c[k];
  }
#endif
  for (; off < len; off += piece, o += 4) {
    size_t n = len - off < piece ? len - off : piece;
    uint32_t c = crc32c(data + off, n);
    o[0] = (uint8_t)(c >> 24), o[1] = (uint8_t)(c >> 16), o[2] = (uint8_t)(c >> 8), o[3] = (uint8_t)c;
  }
}

/* crc32cPieces(data, piece, out): out[i] = big-endian CRC32C of data[i*piece, (i+1)*piece). */
static napi_value do_crc32c_pieces(napi_env env, napi_callback_info info) {
  size_t argc = 3, len = 0, olen = 0;
  napi_value argv[3];
  void *data = NULL, *out = NULL;
  uint32_t piece = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &piece) != napi_ok || piece == 0 ||
      napi_get_buffer_info(env, argv[2], &out, &olen) != napi_ok || olen < ((len + piece - 1) / piece) * 4) {
    napi_throw_type_error(env, NULL, "crc32cPieces(data, piece, out)");
    return NULL;
  }
  crc_pieces(data, len, piece, out);
  return NULL;
}

/*
 * writeFileAtomic(tmp, path, buffers, mode, direct) -> Promise: writes the buffers to `tmp` and
 * renames it to `path`, as one libuv thread-pool job. Node's writeFile + rename is five or more
 * jobs (open, a write per 512 KiB, close, rename), each a thread hand-off; a block upload to the
 * file store or the disk cache needs only this one. On failure `tmp` is removed and the
 * promise rejects with Error{code, errno, syscall, path}. No fsync (as JuiceFS's file store).
 * `direct`: when the first buffer's address and length are DIRECT_ALIGN-aligned, it is written
 * with O_DIRECT (no copy into the page cache), the rest buffered; file systems that refuse
 * O_DIRECT (EINVAL) get a plain buffered write.
 */
#define DIRECT_ALIGN 4096
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref refs[8];
  struct iovec iov[8];
  int n;
  char *tmp, *path;
  uint32_t mode;
  uint32_t crc_piece; /* > 0: the last buffer is filled with the first one's CRC32C pieces first */
  bool direct;
  int err;
  const char *syscall;
} atomic_write_t;

static bool direct_ok(const struct iovec *v) {
  return v->iov_len > 0 && (uintptr_t)v->iov_base % DIRECT_ALIGN == 0 && v->iov_len % DIRECT_ALIGN == 0;
}

/* pwrite(2) loop for the O_DIRECT part; returns bytes written (short when the fs refused). */
static size_t aw_write_direct(atomic_write_t *w, int fd, const struct iovec *v) {
  size_t done = 0;
  while (done < v->iov_len) {
    ssize_t k = pwrite(fd, (const char *)v->iov_base + done, v->iov_len - done, (off_t)done);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno != EINVAL) w->err = errno, w->syscall = "write";
    if (k <= 0) break;
    done += (size_t)k;
  }
  return done;
}

static void aw_execute(napi_env env, void *data) {
  atomic_write_t *w = data;
  (void)env;
  if (w->crc_piece > 0) crc_pieces(w->iov[0].iov_base, w->iov[0].iov_len, w->crc_piece, w->iov[w->n - 1].iov_base);
  int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  bool direct = w->direct && w->n > 0 && direct_ok(&w->iov[0]);
  int fd = direct ? open(w->tmp, flags | O_DIRECT, (mode_t)w->mode) : -1;
  if (fd < 0 && (!direct || errno == EINVAL)) direct = false, fd = open(w->tmp, flags, (mode_t)w->mode);
  if (fd < 0) {
    w->err = errno, w->syscall = "open";
    return;
  }
  struct iovec *iov = w->iov;
  int cnt = w->n;
  off_t off = 0;
  if (direct) {
    size_t done = aw_write_direct(w, fd, iov);
    /* The rest (and whatever the fs refused) goes through the page cache. */
    if (w->err == 0 && fcntl(fd, F_SETFL, flags & ~(O_CREAT | O_TRUNC)) != 0) w->err = errno, w->syscall = "fcntl";
    off = (off_t)done;
    iov->iov_base = (char *)iov->iov_base + done, iov->iov_len -= done;
    if (iov->iov_len == 0) iov++, cnt--;
  }
  while (cnt > 0 && w->err == 0) {
    ssize_t k = pwritev(fd, iov, cnt, off);
    if (k < 0) {
      if (errno == EINTR) continue;
      w->err = errno, w->syscall = "write";
      break;
    }
    off += k;
    while (cnt > 0 && (size_t)k >= iov->iov_len) k -= (ssize_t)iov->iov_len, iov++, cnt--;
    if (cnt > 0) iov->iov_base = (char *)iov->iov_base + k, iov->iov_len -= (size_t)k;
  }
  if (close(fd) != 0 && w->err == 0) w->err = errno, w->syscall = "close";
  if (w->err == 0 && rename(w->tmp, w->path) != 0) w->err = errno, w->syscall = "rename";
  if (w->err != 0) unlink(w->tmp);
}

static void aw_free(napi_env env, atomic_write_t *w) {
  for (int i = 0; i < w->n; i++) napi_delete_reference(env, w->refs[i]);
  free(w->tmp), free(w->path), free(w);
}

static void aw_complete(napi_env env, napi_status status, void *data) {
  atomic_write_t *w = data;
  napi_value v;
  if (status != napi_ok && w->err == 0) w->err = ECANCELED, w->syscall = "writeFileAtomic";
  if (w->err == 0) {
    napi_get_undefined(env, &v);
    napi_resolve_deferred(env, w->deferred, v);
  } else {
    napi_reject_deferred(env, w->deferred, errno_error(env, w->err, w->syscall, strcmp(w->syscall, "rename") == 0 ? w->path : w->tmp));
  }
  napi_delete_async_work(env, w->work);
  aw_free(env, w);
}

static napi_value do_write_file_atomic(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], promise, name;
  uint32_t n = 0, mode = 0666, crc_piece = 0;
  bool direct = false;
  size_t total = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_array_length(env, argv[2], &n) != napi_ok || n > 8) {
    napi_throw_type_error(env, NULL, "writeFileAtomic(tmp, path, buffers[<=8], mode, direct)");
    return NULL;
  }
  if (argc >= 4) napi_get_value_uint32(env, argv[3], &mode);
  if (argc >= 5) napi_get_value_bool(env, argv[4], &direct);
  if (argc >= 6) napi_get_value_uint32(env, argv[5], &crc_piece);
  atomic_write_t *w = calloc(1, sizeof *w);
  if (w == NULL) return throw_errno(env, ENOMEM, "writeFileAtomic");
  w->tmp = get_string(env, argv[0]), w->path = get_string(env, argv[1]), w->mode = mode, w->direct = direct;
  if (w->tmp == NULL || w->path == NULL) {
    aw_free(env, w);
    napi_throw_type_error(env, NULL, "writeFileAtomic: paths must be strings");
    return NULL;
  }
  /* The references keep the bytes alive until the job is done. */
  if (buffers_to_iov(env, argv[2], n, w->iov, &total, w->refs, &w->n) != 0) {
    aw_free(env, w);
    napi_throw_type_error(env, NULL, "writeFileAtomic: buffers must be Buffers");
    return NULL;
  }
  w->crc_piece = crc_piece;
  if (crc_piece > 0 && (w->n < 2 || w->iov[w->n - 1].iov_len != (w->iov[0].iov_len + crc_piece - 1) / crc_piece * 4)) {
    aw_free(env, w);
    napi_throw_type_error(env, NULL, "writeFileAtomic: with checksumPiece, the last buffer holds 4 bytes per piece of the first");
    return NULL;
  }
  CHECK(env, napi_create_promise(env, &w->deferred, &promise));
  napi_create_string_utf8(env, "tjfs:writeFileAtomic", NAPI_AUTO_LENGTH, &name);
  CHECK(env, napi_create_async_work(env, NULL, name, aw_execute, aw_complete, w, &w->work));
  CHECK(env, napi_queue_async_work(env, w->work));
  return promise;
}

/*
 * readFileSplit(path, head) -> Promise<[headBytes, tail]>: reads a whole file as one libuv
 * thread-pool job (open, fstat, preadv, close): its first head.length bytes into `head`, the
 * rest into a new Buffer `tail`. Node's open/stat/read/close are four jobs, each a hand-off
 * to a pool thread and back (tens of microseconds apiece on a VM): a small cached block or a
 * small object of the file store costs one. Rejects with Error{code, errno, syscall, path}.
 */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref head_ref;
  char *head;
  size_t head_len;
  char *tail;
  size_t tail_len;
  size_t got;
  char *path;
  int64_t off; /* readFileRange: where to start; -1 for readFileSplit */
  uint32_t crc_piece; /* readFileSplit: > 0 checks the tail as the head's CRC32C pieces */
  int verified;       /* the outcome of that check */
  int err;
  const char *syscall;
} file_read_t;

/* readFileRange: pread into head from r->off until it is full or the file ends. */
static void fr_execute_range(file_read_t *r, int fd) {
  while (r->got < r->head_len) {
    ssize_t k = pread(fd, r->head + r->got, r->head_len - r->got, (off_t)(r->off + (int64_t)r->got));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) r->err = errno, r->syscall = "read";
    if (k <= 0) break;
    r->got += (size_t)k;
  }
}

static void fr_execute(napi_env env, void *data) {
  file_read_t *r = data;
  (void)env;
  int fd = open(r->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r->err = errno, r->syscall = "open";
    return;
  }
  struct stat st;
  if (r->off >= 0) {
    fr_execute_range(r, fd);
  } else if (fstat(fd, &st) != 0) {
    r->err = errno, r->syscall = "fstat";
  } else {
    size_t size = (size_t)st.st_size;
    if (size > r->head_len) {
      r->tail_len = size - r->head_len;
      r->tail = malloc(r->tail_len);
      if (r->tail == NULL) r->err = ENOMEM, r->syscall = "read", r->tail_len = 0;
    }
    while (r->err == 0 && r->got < size) {
      struct iovec iov[2];
      int cnt = 0;
      if (r->got < r->head_len) iov[cnt].iov_base = r->head + r->got, iov[cnt++].iov_len = r->head_len - r->got;
      size_t in_tail = r->got > r->head_len ? r->got - r->head_len : 0;
      if (r->tail_len > in_tail) iov[cnt].iov_base = r->tail + in_tail, iov[cnt++].iov_len = r->tail_len - in_tail;
      ssize_t k = preadv(fd, iov, cnt, (off_t)r->got);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) r->err = errno, r->syscall = "read";
      if (k <= 0) break; /* shrunk meanwhile: the caller sees the short length */
      r->got += (size_t)k;
    }
    size_t n = r->got < r->head_len ? r->got : r->head_len, tail_got = r->got - n;
    if (r->err == 0 && r->crc_piece > 0 && tail_got == (n + r->crc_piece - 1) / r->crc_piece * 4) {
      uint8_t *sums = malloc(tail_got > 0 ? tail_got : 1);
      if (sums != NULL) {
        crc_pieces((const uint8_t *)r->head, n, r->crc_piece, sums);
        r->verified = memcmp(sums, r->tail != NULL ? r->tail : "", tail_got) == 0;
        free(sums);
      }
    }
  }
  close(fd);
}

static void fr_free_tail(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  free(data);
}

static void fr_complete(napi_env env, napi_status status, void *data) {
  file_read_t *r = data;
  if (status != napi_ok && r->err == 0) r->err = ECANCELED, r->syscall = "readFileSplit";
  if (r->err == 0) {
    napi_value out, n, tail;
    size_t tail_got = r->got > r->head_len ? r->got - r->head_len : 0;
    napi_create_array_with_length(env, 3, &out);
    napi_create_double(env, (double)(r->got < r->head_len ? r->got : r->head_len), &n);
    napi_value verified;
    napi_get_boolean(env, r->verified != 0, &verified);
    napi_set_element(env, out, 2, verified);
    if (r->tail != NULL && tail_got > 0) {
      napi_create_external_buffer(env, tail_got, r->tail, fr_free_tail, NULL, &tail);
      r->tail = NULL; /* owned by the Buffer now */
    } else {
      napi_create_buffer(env, 0, NULL, &tail);
    }
    napi_set_element(env, out, 0, n), napi_set_element(env, out, 1, tail);
    napi_resolve_deferred(env, r->deferred, out);
  } else {
    napi_reject_deferred(env, r->deferred, errno_error(env, r->err, r->syscall, r->path));
  }
  napi_delete_async_work(env, r->work);
  if (r->head_ref != NULL) napi_delete_reference(env, r->head_ref);
  free(r->tail), free(r->path), free(r);
}

/*
 * readFileSplit(path, head) as above; readFileRange(path, buf, off) -> Promise<[n, empty]>:
 * open, pread into `buf` from `off` until it is full or the file ends, close: one job.
 */
static napi_value read_file_job(napi_env env, napi_callback_info info, bool range) {
  /* readFileSplit(path, head, checksumPiece?): the third element of the result says whether
     the tail is exactly the head's CRC32C pieces (checked in the job, off the JS thread). */
  size_t argc = 3;
  napi_value argv[3], promise, name;
  bool is_buf = false;
  int64_t off = -1;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_is_buffer(env, argv[1], &is_buf) != napi_ok || !is_buf ||
      (range && (argc < 3 || napi_get_value_int64(env, argv[2], &off) != napi_ok || off < 0))) {
    napi_throw_type_error(env, NULL, range ? "readFileRange(path, buf: Buffer, off >= 0)" : "readFileSplit(path, head: Buffer)");
    return NULL;
  }
  file_read_t *r = calloc(1, sizeof *r);
  if (r == NULL) return throw_errno(env, ENOMEM, "readFile");
  r->off = range ? off : -1;
  if (!range && argc >= 3) napi_get_value_uint32(env, argv[2], &r->crc_piece);
  r->path = get_string(env, argv[0]);
  if (r->path == NULL) {
    free(r);
    napi_throw_type_error(env, NULL, "readFileSplit: path must be a string");
    return NULL;
  }
  void *head = NULL;
  CHECK(env, napi_get_buffer_info(env, argv[1], &head, &r->head_len));
  r->head = head;
  /* The reference keeps `head` alive until the job is done. */
  CHECK(env, napi_create_reference(env, argv[1], 1, &r->head_ref));
  CHECK(env, napi_create_promise(env, &r->deferred, &promise));
  napi_create_string_utf8(env, "tjfs:readFileSplit", NAPI_AUTO_LENGTH, &name);
  CHECK(env, napi_create_async_work(env, NULL, name, fr_execute, fr_complete, r, &r->work));
  CHECK(env, napi_queue_async_work(env, r->work));
  return promise;
}

static napi_value do_read_file_split(napi_env env, napi_callback_info info) {
  return read_file_job(env, info, false);
}

static napi_value do_read_file_range(napi_env env, napi_callback_info info) {
  return read_file_job(env, info, true);
}

/* A JavaScript function that libuv callbacks call (the fuse watcher, the ring). */
typedef struct {
  napi_ref fn;
  napi_async_context async;
} js_cb_t;

static void js_cb_init(napi_env env, js_cb_t *c, napi_value fn, const char *name) {
  napi_value resource, n;
  napi_create_reference(env, fn, 1, &c->fn);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &n);
  napi_create_object(env, &resource);
  napi_async_init(env, resource, n, &c->async);
}

static void js_cb_destroy(napi_env env, js_cb_t *c) {
  napi_delete_reference(env, c->fn);
  napi_async_destroy(env, c->async);
}

/*
 * Calls it inside the caller's handle scope: make_callback (not call_function), so nextTicks
 * and microtasks run after it; an exception it throws is fatal, as in any libuv callback.
 */
static void js_cb_call(napi_env env, js_cb_t *c, size_t argc, const napi_value *args) {
  napi_value fn, recv, result;
  napi_get_reference_value(env, c->fn, &fn);
  napi_get_global(env, &recv); /* make_callback needs an object receiver */
  if (napi_make_callback(env, c->async, recv, fn, argc, args, &result) == napi_pending_exception) {
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
    napi_fatal_exception(env, ex);
  }
}

typedef struct {
  uv_poll_t poll;
  napi_env env;
  js_cb_t cb;
  int active; /* 1 while uv_poll_start is in effect */
  int closed;
} watcher_t;

static void on_closed(uv_handle_t *h) {
  watcher_t *w = (watcher_t *)h->data;
  free(w);
}

static void on_poll(uv_poll_t *p, int status, int events) {
  watcher_t *w = (watcher_t *)p->data;
  if (w->closed) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_value args[2];
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_create_int32(env, status, &args[0]);
  napi_create_int32(env, events, &args[1]);
  js_cb_call(env, &w->cb, 2, args);
  napi_close_handle_scope(env, scope);
}

static napi_value w_pause(napi_env env, napi_callback_info info) {
  watcher_t *w;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&w));
  if (!w->closed && w->active) uv_poll_stop(&w->poll), w->active = 0;
  return NULL;
}

static napi_value w_resume(napi_env env, napi_callback_info info) {
  watcher_t *w;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&w));
  if (!w->closed && !w->active) {
    int rc = uv_poll_start(&w->poll, UV_READABLE, on_poll);
    if (rc != 0) return throw_errno(env, -rc, "uv_poll_start");
    w->active = 1;
  }
  return NULL;
}

static napi_value w_close(napi_env env, napi_callback_info info) {
  watcher_t *w;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&w));
  if (w->closed) return NULL;
  w->closed = 1;
  js_cb_destroy(env, &w->cb);
  uv_close((uv_handle_t *)&w->poll, on_closed); /* also stops polling */
  return NULL;
}

static napi_value w_ref(napi_env env, napi_callback_info info) {
  watcher_t *w;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&w));
  if (!w->closed) uv_ref((uv_handle_t *)&w->poll);
  return NULL;
}

static napi_value w_unref(napi_env env, napi_callback_info info) {
  watcher_t *w;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&w));
  if (!w->closed) uv_unref((uv_handle_t *)&w->poll);
  return NULL;
}

static void add_method(napi_env env, napi_value obj, const char *name, napi_callback fn, void *data) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, data, &f);
  napi_set_named_property(env, obj, name, f);
}

/* watch(fd, cb(status, events)): starts polling at once; the handle is ref'd until unref(). */
static napi_value do_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], handle;
  int32_t fd = -1;
  napi_valuetype t;
  uv_loop_t *loop;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "watch(fd, onReadable)");
    return NULL;
  }
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  watcher_t *w = calloc(1, sizeof *w);
  if (w == NULL) return throw_errno(env, ENOMEM, "watch");
  int rc = uv_poll_init(loop, &w->poll, fd);
  if (rc != 0) {
    free(w);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  w->poll.data = w;
  w->env = env;
  js_cb_init(env, &w->cb, argv[1], "tjfs:fuse-watch");
  rc = uv_poll_start(&w->poll, UV_READABLE, on_poll);
  if (rc != 0) {
    w->closed = 1;
    js_cb_destroy(env, &w->cb);
    uv_close((uv_handle_t *)&w->poll, on_closed);
    return throw_errno(env, -rc, "uv_poll_start");
  }
  w->active = 1;
  CHECK(env, napi_create_object(env, &handle));
  add_method(env, handle, "pause", w_pause, w);
  add_method(env, handle, "resume", w_resume, w);
  add_method(env, handle, "close", w_close, w);
  add_method(env, handle, "ref", w_ref, w);
  add_method(env, handle, "unref", w_unref, w);
  return handle;
}

/*
 * ring(entries, onDone(slot, bytes, error)) -> {read, close}: positioned reads through an
 * io_uring of our own, without SQPOLL (no kernel thread spinning on a CPU). A read is
 * submitted on the JS thread with one io_uring_enter; the kernel reads page-cached bytes at
 * once and waits for the disk asynchronously (buffered reads wake on the page, no worker
 * thread of ours); each completion signals an eventfd that a uv_poll watches, so the result
 * reaches JS with one wake-up of the JS thread instead of a thread-pool round trip (a wake-up
 * of a pool thread and then of the JS thread).
 *   read(fd, buf, pos) -> slot >= 0, or -errno when it was not submitted (-EAGAIN: every
 *                         slot is in flight); onDone(slot, n, undefined | Error) follows
 *   readFile(path, buf, pos) -> slot or -errno: open, read until buf is full or the file
 *                         ends, close, all on the ring (an object of the file store)
 *   close()            -> stops; reads in flight complete before the ring's memory goes
 * Invariants: at most `entries` reads in flight (the completion queue, twice that, never
 * overflows); a slot's Buffer is referenced until its completion was handed to JS; the
 * poll handle keeps the loop alive only while reads are in flight.
 */
#include <linux/io_uring.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

enum { STEP_READ, STEP_OPEN, STEP_FILE };

typedef struct {
  napi_ref buf; /* the Buffer being read into; NULL when the slot is free */
  char *path;   /* readFile: the file (malloc'd) */
  uint8_t *data;
  uint32_t len, done;
  uint64_t pos;
  int fd, step; /* fd: readFile's open file, else -1 */
} ring_op_t;

typedef struct {
  uv_poll_t poll;
  napi_env env;
  js_cb_t cb;
  int ring_fd, event_fd, closed, leak;
  napi_async_cleanup_hook_handle hook; /* until released: the addon stays loaded for our close callback */
  unsigned entries, inflight;
  void *sq_map, *cq_map;
  size_t sq_map_len, cq_map_len;
  struct io_uring_sqe *sqes;
  unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
  struct io_uring_cqe *cqes;
  ring_op_t *ops; /* per slot */
  unsigned *free_slots, free_count;
} ring_t;

static void ring_release(ring_t *r) {
  if (r->hook != NULL) napi_remove_async_cleanup_hook(r->hook);
  if (r->sqes != NULL) munmap(r->sqes, r->entries * sizeof(struct io_uring_sqe));
  if (r->cq_map != NULL && r->cq_map != r->sq_map) munmap(r->cq_map, r->cq_map_len);
  if (r->sq_map != NULL) munmap(r->sq_map, r->sq_map_len);
  if (r->ring_fd >= 0) close(r->ring_fd);
  if (r->event_fd >= 0) close(r->event_fd);
  if (r->ops != NULL)
    for (unsigned i = 0; i < r->entries; i++) free(r->ops[i].path);
  free(r->ops);
  free(r->free_slots);
  free(r);
}

static void ring_on_closed(uv_handle_t *h) {
  ring_t *r = (ring_t *)h->data;
  if (!r->leak) {
    ring_release(r);
  } else if (r->hook != NULL) {
    napi_remove_async_cleanup_hook(r->hook); /* the ring stays open: reads into it never ended */
    r->hook = NULL;
  }
}

/* Queues one SQE for `slot` and submits it: 0, or -errno and nothing stays queued. */
static int ring_submit(ring_t *r, unsigned slot, int opcode, int fd, const void *addr, uint32_t len, uint64_t off) {
  unsigned tail = *r->sq_tail, i = tail & *r->sq_mask;
  struct io_uring_sqe *sqe = &r->sqes[i];
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = (uint8_t)opcode;
  sqe->fd = fd;
  sqe->addr = (uint64_t)(uintptr_t)addr;
  sqe->len = len;
  sqe->off = off;
  if (opcode == IORING_OP_OPENAT) sqe->open_flags = O_RDONLY | O_CLOEXEC;
  sqe->user_data = slot;
  r->sq_array[i] = i;
  __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
  long n;
  do n = syscall(__NR_io_uring_enter, r->ring_fd, 1, 0, 0, NULL, 0);
  while (n < 0 && errno == EINTR);
  if (n == 1) return 0;
  /* Not taken (nothing else is queued: every SQE is submitted alone), so withdraw it. */
  int e = n < 0 ? errno : EAGAIN;
  __atomic_store_n(r->sq_tail, tail, __ATOMIC_RELEASE);
  return -e;
}

/*
 * One completion of `op`'s current step: a readFile moves on (open -> read -> read the rest),
 * returning 1 while it has more to do; 0 when the op is finished, `*err` its errno or 0.
 */
static int ring_step(ring_t *r, unsigned slot, ring_op_t *op, int res, int *err, const char **syscall_name) {
  *syscall_name = op->step == STEP_OPEN ? "open" : "read";
  if (res < 0) {
    *err = -res;
    return 0;
  }
  if (op->step == STEP_OPEN) {
    op->fd = res;
    op->step = STEP_FILE;
  } else {
    op->done += (uint32_t)res;
    if (op->step == STEP_READ || res == 0 || op->done >= op->len) return 0;
  }
  int rc = ring_submit(r, slot, IORING_OP_READ, op->fd, op->data + op->done, op->len - op->done, op->pos + op->done);
  *err = -rc;
  return rc == 0;
}

/* Hands every finished op to JS. */
static void ring_drain(ring_t *r) {
  napi_env env = r->env;
  for (;;) {
    unsigned head = *r->cq_head;
    if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) break;
    struct io_uring_cqe cqe = r->cqes[head & *r->cq_mask];
    __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
    unsigned slot = (unsigned)cqe.user_data;
    if (slot >= r->entries || r->ops[slot].buf == NULL) continue;
    ring_op_t *op = &r->ops[slot];
    int err = 0;
    const char *sys;
    if (ring_step(r, slot, op, cqe.res, &err, &sys)) continue;
    if (op->fd >= 0) close(op->fd);
    op->fd = -1;
    napi_delete_reference(env, op->buf);
    op->buf = NULL;
    r->free_slots[r->free_count++] = slot;
    if (--r->inflight == 0) uv_unref((uv_handle_t *)&r->poll);
    napi_handle_scope scope;
    if (r->closed || napi_open_handle_scope(env, &scope) != napi_ok) {
      free(op->path), op->path = NULL;
      continue;
    }
    napi_value args[3];
    napi_create_uint32(env, slot, &args[0]);
    napi_create_uint32(env, op->done, &args[1]);
    if (err != 0) args[2] = errno_error(env, err, sys, op->path);
    else napi_get_undefined(env, &args[2]);
    free(op->path), op->path = NULL;
    js_cb_call(env, &r->cb, 3, args);
    napi_close_handle_scope(env, scope);
  }
}

static void ring_on_poll(uv_poll_t *p, int status, int events) {
  ring_t *r = (ring_t *)p->data;
  uint64_t count;
  if (read(r->event_fd, &count, sizeof count) < 0) count = 0; /* one read zeroes the counter */
  ring_drain(r);
  if (r->closed && r->inflight == 0 && !uv_is_closing((uv_handle_t *)&r->poll))
    uv_close((uv_handle_t *)&r->poll, ring_on_closed);
}

/* read(fd, buf, pos) and readFile(path, buf, pos): the op's first SQE, or -errno. */
static napi_value ring_start(napi_env env, napi_callback_info info, int file) {
  size_t argc = 3, len = 0;
  napi_value argv[3], out;
  ring_t *r;
  int32_t fd = -1;
  int64_t pos = 0;
  void *data = NULL;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&r));
  napi_valuetype t = napi_undefined;
  if (argc < 3 || (file ? napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string
                        : napi_get_value_int32(env, argv[0], &fd) != napi_ok) ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok ||
      napi_get_value_int64(env, argv[2], &pos) != napi_ok || pos < 0 || len > 0x7fffffff) {
    napi_throw_type_error(env, NULL, file ? "ring.readFile(path, buffer, position)" : "ring.read(fd, buffer, position)");
    return NULL;
  }
  int32_t rc;
  if (r->closed) {
    rc = -EBADF;
  } else if (r->free_count == 0) {
    rc = -EAGAIN;
  } else {
    unsigned slot = r->free_slots[r->free_count - 1];
    ring_op_t *op = &r->ops[slot];
    op->path = file ? get_string(env, argv[0]) : NULL;
    op->data = data;
    op->len = (uint32_t)len;
    op->done = 0;
    op->pos = (uint64_t)pos;
    op->fd = -1;
    op->step = file ? STEP_OPEN : STEP_READ;
    rc = file && op->path == NULL ? -ENOMEM
         : file ? ring_submit(r, slot, IORING_OP_OPENAT, AT_FDCWD, op->path, 0, 0)
              : ring_submit(r, slot, IORING_OP_READ, fd, data, (uint32_t)len, (uint64_t)pos);
    if (rc == 0) {
      r->free_count--;
      napi_create_reference(env, argv[1], 1, &op->buf);
      if (r->inflight++ == 0) uv_ref((uv_handle_t *)&r->poll);
      rc = (int32_t)slot;
    } else {
      free(op->path), op->path = NULL;
    }
  }
  CHECK(env, napi_create_int32(env, rc, &out));
  return out;
}

static napi_value ring_read(napi_env env, napi_callback_info info) { return ring_start(env, info, 0); }
static napi_value ring_read_file(napi_env env, napi_callback_info info) { return ring_start(env, info, 1); }

static void ring_shutdown(ring_t *r) {
  if (r->closed) return;
  r->closed = 1;
  js_cb_destroy(r->env, &r->cb);
  if (r->inflight == 0) {
    uv_close((uv_handle_t *)&r->poll, ring_on_closed);
  } else {
    /* Closing the ring fd would cancel reads into Buffers still referenced: let them land. */
    uv_ref((uv_handle_t *)&r->poll);
  }
}

/*
 * The environment is going away (a worker thread ends, or the process): the Buffers of
 * reads in flight are about to be freed, so wait (a second at most) for the kernel to finish
 * writing into them; a read that never ends (a pipe nobody writes) leaves the ring open.
 * An async cleanup hook, so the addon stays loaded until the poll handle's close callback.
 */
static void ring_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  ring_t *r = arg;
  ring_shutdown(r);
  for (int tries = 0; r->inflight > 0 && tries < 10; tries++) {
    struct __kernel_timespec ts = {0, 100 * 1000 * 1000};
    struct io_uring_getevents_arg ga;
    memset(&ga, 0, sizeof ga);
    ga.ts = (uint64_t)(uintptr_t)&ts;
    syscall(__NR_io_uring_enter, r->ring_fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &ga, sizeof ga);
    ring_drain(r);
  }
  r->leak = r->inflight > 0;
  if (!uv_is_closing((uv_handle_t *)&r->poll)) uv_close((uv_handle_t *)&r->poll, ring_on_closed);
}

static napi_value ring_close(napi_env env, napi_callback_info info) {
  ring_t *r;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&r));
  ring_shutdown(r);
  return NULL;
}

static napi_value do_ring(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], handle;
  uint32_t entries = 0;
  napi_valuetype t;
  uv_loop_t *loop;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &entries) != napi_ok || entries < 1 ||
      entries > 4096 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "ring(entries 1..4096, onDone)");
    return NULL;
  }
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  ring_t *r = calloc(1, sizeof *r);
  if (r == NULL) return throw_errno(env, ENOMEM, "io_uring_setup");
  r->ring_fd = r->event_fd = -1;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)syscall(__NR_io_uring_setup, entries, &p);
  if (fd < 0) {
    int e = errno;
    ring_release(r);
    return throw_errno(env, e, "io_uring_setup");
  }
  r->ring_fd = fd;
  r->entries = p.sq_entries;
  r->sq_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r->cq_map_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single && r->cq_map_len > r->sq_map_len) r->sq_map_len = r->cq_map_len;
  r->sq_map = mmap(NULL, r->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (r->sq_map == MAP_FAILED) r->sq_map = NULL;
  r->cq_map = single ? r->sq_map
                     : mmap(NULL, r->cq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  if (r->cq_map == MAP_FAILED) r->cq_map = NULL;
  r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                 IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) r->sqes = NULL;
  r->ops = calloc(r->entries, sizeof *r->ops);
  r->free_slots = calloc(r->entries, sizeof *r->free_slots);
  r->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (r->sq_map == NULL || r->cq_map == NULL || r->sqes == NULL || r->ops == NULL || r->free_slots == NULL ||
      r->event_fd < 0 || syscall(__NR_io_uring_register, fd, IORING_REGISTER_EVENTFD, &r->event_fd, 1) < 0) {
    int e = errno != 0 ? errno : ENOMEM;
    ring_release(r);
    return throw_errno(env, e, "io_uring_setup");
  }
  char *sq = r->sq_map, *cq = r->cq_map;
  r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(sq + p.sq_off.array);
  r->cq_head = (unsigned *)(cq + p.cq_off.head);
  r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  for (unsigned i = 0; i < r->entries; i++) r->free_slots[i] = r->entries - 1 - i;
  r->free_count = r->entries;
  int rc = uv_poll_init(loop, &r->poll, r->event_fd);
  if (rc != 0) {
    ring_release(r);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  r->poll.data = r;
  r->env = env;
  js_cb_init(env, &r->cb, argv[1], "tjfs:ring");
  rc = uv_poll_start(&r->poll, UV_READABLE, ring_on_poll);
  uv_unref((uv_handle_t *)&r->poll);
  if (rc != 0) {
    ring_shutdown(r);
    return throw_errno(env, -rc, "uv_poll_start");
  }
  if (napi_add_async_cleanup_hook(env, ring_cleanup, r, &r->hook) != napi_ok) r->hook = NULL;
  CHECK(env, napi_create_object(env, &handle));
  add_method(env, handle, "read", ring_read, r);
  add_method(env, handle, "readFile", ring_read_file, r);
  add_method(env, handle, "close", ring_close, r);
  return handle;
}

static napi_value do_socketpair(napi_env env, napi_callback_info info) {
  int sv[2];
  napi_value arr, v;
  (void)info;
  /* sv[1] is handed to fusermount3, so only sv[0] is close-on-exec. */
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return throw_errno(env, errno, "socketpair");
  fcntl(sv[0], F_SETFD, FD_CLOEXEC);
  CHECK(env, napi_create_array_with_length(env, 2, &arr));
  napi_create_int32(env, sv[0], &v), napi_set_element(env, arr, 0, v);
  napi_create_int32(env, sv[1], &v), napi_set_element(env, arr, 1, v);
  return arr;
}

/* recvFd(sock): receives one SCM_RIGHTS descriptor, made O_NONBLOCK and close-on-exec. */
static napi_value do_recvfd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t sock = -1;
  char byte = 0, ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&byte, 1};
  struct msghdr msg = {0};
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &sock) != napi_ok) {
    napi_throw_type_error(env, NULL, "recvFd(socketFd)");
    return NULL;
  }
  msg.msg_iov = &iov, msg.msg_iovlen = 1, msg.msg_control = ctl, msg.msg_controllen = sizeof ctl;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "recvmsg");
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (n == 0 || c == NULL || c->cmsg_type != SCM_RIGHTS) return throw_errno(env, EPROTO, "recvmsg");
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  CHECK(env, napi_create_int32(env, fd, &out));
  return out;
}

/* sendFd(sock, fd): sends `fd` with one data byte as SCM_RIGHTS over a unix socket. */
static napi_value do_sendfd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t sock = -1, fd = -1;
  char byte = 'F';
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {&byte, 1};
  struct msghdr msg = {0};
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_int32(env, argv[0], &sock) != napi_ok || napi_get_value_int32(env, argv[1], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "sendFd(socketFd, fd)");
    return NULL;
  }
  memset(&ctl, 0, sizeof ctl);
  msg.msg_iov = &iov, msg.msg_iovlen = 1, msg.msg_control = ctl.buf, msg.msg_controllen = sizeof ctl.buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "sendmsg");
  return NULL;
}

/*
 * recvFdFrom(path, timeoutMs): connects to the unix socket `path`, receives one SCM_RIGHTS
 * descriptor with the first byte, then reads until EOF (at most 16 MiB). Returns
 * {fd, data: Buffer} (data without the first byte). Blocking: used once, before serving.
 */
static napi_value do_recvfd_from(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out, v;
  char path[108];
  size_t plen = 0;
  int32_t timeout_ms = 30000;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok || plen == 0 || plen >= sizeof path - 1) {
    napi_throw_type_error(env, NULL, "recvFdFrom(path, timeoutMs): path up to 106 bytes");
    return NULL;
  }
  if (argc > 1) napi_get_value_int32(env, argv[1], &timeout_ms);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return throw_errno(env, errno, "socket");
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_un addr = {0};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, plen);
  if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int e = errno;
    close(sock);
    return throw_errno(env, e, "connect");
  }
  size_t cap = 65536, len = 0;
  char *buf = malloc(cap);
  union {
    char b[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {buf, cap};
  struct msghdr msg = {0};
  msg.msg_iov = &iov, msg.msg_iovlen = 1, msg.msg_control = ctl.b, msg.msg_controllen = sizeof ctl.b;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (c == NULL || c->cmsg_type != SCM_RIGHTS) {
    int e = n < 0 ? errno : EPROTO;
    free(buf), close(sock);
    return throw_errno(env, e, "recvmsg");
  }
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  len = (size_t)n;
  for (;;) {
    if (len == cap) {
      if (cap >= (16u << 20)) break;
      cap *= 2;
      buf = realloc(buf, cap);
    }
    do n = read(sock, buf + len, cap - len); while (n < 0 && errno == EINTR);
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(sock);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  CHECK(env, napi_create_object(env, &out));
  napi_create_int32(env, fd, &v), napi_set_named_property(env, out, "fd", v);
  napi_create_buffer_copy(env, len - 1, buf + 1, NULL, &v), napi_set_named_property(env, out, "data", v);
  free(buf);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  crc_table_init();
  add_method(env, exports, "mount", do_mount, NULL);
  add_method(env, exports, "umount", do_umount, NULL);
  add_method(env, exports, "readNonBlocking", do_read, NULL);
  add_method(env, exports, "writeReply", do_write_reply, NULL);
  add_method(env, exports, "preadNoWait", do_pread_nowait, NULL);
  add_method(env, exports, "keepHeap", do_keep_heap, NULL);
  add_method(env, exports, "crc32cPieces", do_crc32c_pieces, NULL);
  add_method(env, exports, "writeFileAtomic", do_write_file_atomic, NULL);
  add_method(env, exports, "readFileSplit", do_read_file_split, NULL);
  add_method(env, exports, "readFileRange", do_read_file_range, NULL);
  add_method(env, exports, "alignPad", do_align_pad, NULL);
  add_method(env, exports, "watch", do_watch, NULL);
  add_method(env, exports, "ring", do_ring, NULL);
  add_method(env, exports, "socketpair", do_socketpair, NULL);
  add_method(env, exports, "recvFd", do_recvfd, NULL);
  add_method(env, exports, "sendFd", do_sendfd, NULL);
  add_method(env, exports, "recvFdFrom", do_recvfd_from, NULL);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
