/*
 * LD_PRELOAD stand-in for one /dev/i2c-N device file.
 *
 * CI runners have no I2C adapter and cannot load i2c-stub, but the hub's production I2C
 * backend (LinuxI2CBus) should still run there. Preloaded into a program, this library
 * makes one configured path look like an i2c-dev adapter: opening it connects a Unix
 * socket to a server (HubLive's I2CSocketServer, serving simulated chips), and each
 * I2C_RDWR ioctl on that descriptor travels over the socket and back. Every other file,
 * descriptor and ioctl passes through to the C library untouched.
 *
 *   HUBRIG_I2C_DEVICE  the path to fake, e.g. /dev/i2c-1 (unset: the shim does nothing)
 *   HUBRIG_I2C_SOCKET  the server's socket path
 *
 * Wire protocol (little-endian; layout documented in HubLive/I2CSocketProtocol.swift):
 *   request  u16 count, then per message u16 addr, u16 flags, u16 len, and len data
 *            bytes for writes (no I2C_M_RD)
 *   reply    i32 status (0 or a positive errno), then on success the bytes of each read
 *            message in order
 *
 * ioctls on a faked descriptor, as the kernel's i2c-dev answers them:
 *   I2C_RDWR          forwarded; returns the number of messages, or -1 with the
 *                     server's errno (EREMOTEIO for no ACK, ...); EINVAL for 0 or more
 *                     than 42 messages or a message over 8192 bytes; EIO if the server
 *                     goes away mid-transfer
 *   I2C_FUNCS         I2C_FUNC_I2C only (no SMBus emulation: I2C_SMBUS is not served)
 *   I2C_SLAVE, I2C_SLAVE_FORCE, I2C_TIMEOUT, I2C_RETRIES   accepted and ignored
 *   anything else     -1 with ENOTTY
 *
 * If the server cannot be reached, open fails with connect's errno (ENOENT when no socket
 * exists at the path, ECONNREFUSED when nobody listens): the host program sees an
 * ordinary failed open, never a crash. Not faked: descriptors duplicated with dup(2),
 * and fopen(3), which opens through glibc's internal entry points.
 * One descriptor used from several threads is safe: transfers are serialised.
 */
#undef _FORTIFY_SOURCE /* fortified open() is an inline wrapper we could not replace */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>

#include "i2c_shim.h"

#define SHIM_MAX_FDS 16
#define SHIM_MAX_MSGS I2C_RDWR_IOCTL_MAX_MSGS
#define SHIM_MAX_LEN 8192

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef int (*close_fn)(int);

/* Descriptors this shim created. A small fixed table: a program opens an adapter once. */
static int shim_fds[SHIM_MAX_FDS] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
/* Serialises transfers, so two threads never interleave frames on one socket. */
static pthread_mutex_t io_lock = PTHREAD_MUTEX_INITIALIZER;

/* The next definition of `name` after this library. Resolved lazily, without
 * pthread_once, because dlsym may itself open files and must not deadlock on us; a race
 * only makes two threads look up the same pointer. */
static void *real(void **slot, const char *name) {
    void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!fn) {
        fn = dlsym(RTLD_NEXT, name);
        __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
    }
    return fn;
}

static void *real_open_p, *real_open64_p, *real_openat_p, *real_openat64_p, *real_ioctl_p, *real_close_p;

static int is_shim_fd(int fd) {
    int found = 0;
    if (fd < 0) return 0;
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < SHIM_MAX_FDS; i++) {
        if (shim_fds[i] == fd) { found = 1; break; }
    }
    pthread_mutex_unlock(&table_lock);
    return found;
}

static int remember_fd(int fd) {
    int stored = 0;
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < SHIM_MAX_FDS; i++) {
        if (shim_fds[i] < 0) { shim_fds[i] = fd; stored = 1; break; }
    }
    pthread_mutex_unlock(&table_lock);
    return stored;
}

static void forget_fd(int fd) {
    if (fd < 0) return;
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < SHIM_MAX_FDS; i++) {
        if (shim_fds[i] == fd) shim_fds[i] = -1;
    }
    pthread_mutex_unlock(&table_lock);
}

/* True when `path` (relative to dirfd) is the configured device. Only absolute paths and
 * paths relative to the working directory compare; the device is always given absolutely. */
static int is_device(int dirfd, const char *path) {
    const char *device = getenv("HUBRIG_I2C_DEVICE");
    if (!device || !*device || !path) return 0;
    if (path[0] != '/' && dirfd != AT_FDCWD) return 0;
    return strcmp(path, device) == 0;
}

/* Connects to the server; returns the socket descriptor, or -1 with errno set. */
static int connect_server(int flags) {
    const char *path = getenv("HUBRIG_I2C_SOCKET");
    struct sockaddr_un address;
    int type = SOCK_STREAM | ((flags & O_CLOEXEC) ? SOCK_CLOEXEC : 0);
    int fd, saved;

    if (!path || !*path) { errno = ENOENT; return -1; }
    if (strlen(path) >= sizeof(address.sun_path)) { errno = ENAMETOOLONG; return -1; }
    memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, path, strlen(path));

    fd = socket(AF_UNIX, type, 0);
    if (fd < 0) return -1;
    while (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        if (errno == EINTR) continue;
        saved = errno;
        ((close_fn)real(&real_close_p, "close"))(fd);
        errno = saved;
        return -1;
    }
    if (!remember_fd(fd)) {
        ((close_fn)real(&real_close_p, "close"))(fd);
        errno = EMFILE;
        return -1;
    }
    return fd;
}

static int needs_mode(int flags) {
    return (flags & O_CREAT) || ((flags & O_TMPFILE) == O_TMPFILE);
}

int open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (is_device(AT_FDCWD, path)) return connect_server(flags);
    return ((open_fn)real(&real_open_p, "open"))(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (is_device(AT_FDCWD, path)) return connect_server(flags);
    return ((open_fn)real(&real_open64_p, "open64"))(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
    mode_t mode = 0;
    if (needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (is_device(dirfd, path)) return connect_server(flags);
    return ((openat_fn)real(&real_openat_p, "openat"))(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    mode_t mode = 0;
    if (needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (is_device(dirfd, path)) return connect_server(flags);
    return ((openat_fn)real(&real_openat64_p, "openat64"))(dirfd, path, flags, mode);
}

int close(int fd) {
    forget_fd(fd);
    return ((close_fn)real(&real_close_p, "close"))(fd);
}

/* Sends all `count` bytes, riding out short writes and EINTR. 0, or -1 with errno. */
static int send_all(int fd, const uint8_t *bytes, size_t count) {
    while (count > 0) {
        ssize_t sent = send(fd, bytes, count, MSG_NOSIGNAL); /* no SIGPIPE if the server left */
        if (sent < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        bytes += sent;
        count -= (size_t)sent;
    }
    return 0;
}

/* Receives exactly `count` bytes. 0, or -1 with errno (EIO when the server hung up). */
static int recv_all(int fd, uint8_t *bytes, size_t count) {
    while (count > 0) {
        ssize_t got = recv(fd, bytes, count, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (got == 0) { errno = EIO; return -1; }
        bytes += got;
        count -= (size_t)got;
    }
    return 0;
}

static void put_u16(uint8_t *at, uint16_t value) {
    at[0] = (uint8_t)(value & 0xFF);
    at[1] = (uint8_t)(value >> 8);
}

/* One I2C_RDWR over the socket. Returns nmsgs, or -1 with errno. */
static int forward_rdwr(int fd, struct i2c_rdwr_ioctl_data *data) {
    size_t size = 2, at = 0;
    uint8_t *frame, status_bytes[4];
    int32_t status;
    int result = -1, saved = 0;

    if (!data || !data->msgs) { errno = EFAULT; return -1; }
    if (data->nmsgs == 0 || data->nmsgs > SHIM_MAX_MSGS) { errno = EINVAL; return -1; }
    for (uint32_t i = 0; i < data->nmsgs; i++) {
        const struct i2c_msg *msg = &data->msgs[i];
        if (msg->len > SHIM_MAX_LEN) { errno = EINVAL; return -1; }
        if (msg->len > 0 && !msg->buf) { errno = EFAULT; return -1; }
        size += 6 + ((msg->flags & I2C_M_RD) ? 0 : msg->len);
    }
    frame = malloc(size);
    if (!frame) { errno = ENOMEM; return -1; }
    put_u16(frame, (uint16_t)data->nmsgs);
    at = 2;
    for (uint32_t i = 0; i < data->nmsgs; i++) {
        const struct i2c_msg *msg = &data->msgs[i];
        put_u16(frame + at, msg->addr);
        put_u16(frame + at + 2, msg->flags);
        put_u16(frame + at + 4, msg->len);
        at += 6;
        if (!(msg->flags & I2C_M_RD) && msg->len > 0) {
            memcpy(frame + at, msg->buf, msg->len);
            at += msg->len;
        }
    }

    pthread_mutex_lock(&io_lock);
    if (send_all(fd, frame, size) != 0 || recv_all(fd, status_bytes, 4) != 0) {
        saved = (errno == EPIPE || errno == ECONNRESET) ? EIO : errno;
        goto done;
    }
    status = (int32_t)((uint32_t)status_bytes[0] | (uint32_t)status_bytes[1] << 8 |
                       (uint32_t)status_bytes[2] << 16 | (uint32_t)status_bytes[3] << 24);
    if (status != 0) {
        /* A status outside errno's range means the stream is corrupt. */
        saved = (status > 0 && status < 4096) ? status : EIO;
        goto done;
    }
    /* The reply bytes land straight in the caller's read buffers, in message order. */
    for (uint32_t i = 0; i < data->nmsgs; i++) {
        struct i2c_msg *msg = &data->msgs[i];
        if ((msg->flags & I2C_M_RD) && msg->len > 0 && recv_all(fd, msg->buf, msg->len) != 0) {
            saved = (errno == ECONNRESET) ? EIO : errno;
            goto done;
        }
    }
    result = (int)data->nmsgs;
done:
    pthread_mutex_unlock(&io_lock);
    free(frame);
    if (result < 0) errno = saved;
    return result;
}

int ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    void *arg;
    va_start(ap, request);
    arg = va_arg(ap, void *); /* every ioctl takes at most one pointer-sized argument */
    va_end(ap);

    if (!is_shim_fd(fd)) return ((ioctl_fn)real(&real_ioctl_p, "ioctl"))(fd, request, arg);

    switch (request) {
    case I2C_RDWR:
        return forward_rdwr(fd, (struct i2c_rdwr_ioctl_data *)arg);
    case I2C_FUNCS:
        if (!arg) { errno = EFAULT; return -1; }
        *(unsigned long *)arg = I2C_FUNC_I2C;
        return 0;
    case I2C_SLAVE:
    case I2C_SLAVE_FORCE:
    case I2C_TIMEOUT:
    case I2C_RETRIES:
        return 0;
    default:
        errno = ENOTTY;
        return -1;
    }
}

int hubrig_i2c_shim_is_faked(int fd) {
    return is_shim_fd(fd);
}
