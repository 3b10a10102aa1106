/*
 * LD_PRELOAD stand-in for one /dev/i2c-N device file: the whole i2c-dev interface of a
 * Raspberry Pi's I2C adapter, served by the rig's simulated chips.
 *
 * CI runners have no I2C adapter and cannot load i2c-stub, yet the hub's production
 * backend (LinuxI2CBus) and programs nobody here wrote (i2c-tools, smbus2, RTIMULib)
 * should run there unchanged. Preloaded into a program, this library makes one path look
 * like an i2c-dev character device. Every open of it connects its own Unix socket to the
 * rig's server (HubLive's I2CSocketServer, `hubrig sim i2c-serve`), which serialises the
 * transfers of every descriptor and process on one simulated bus. Every other file,
 * descriptor and call passes through to the C library untouched.
 *
 * Plain C on purpose: it is loaded into every preloaded program, so it links nothing
 * beyond the C library (no Swift runtime). Build it with shim/build.
 *
 *   HUBRIG_I2C_DEVICE  the path to fake, e.g. /dev/i2c-1 (unset: the shim does nothing)
 *   HUBRIG_I2C_SOCKET  the server's socket path
 *
 * What a descriptor answers, as the kernel's drivers/i2c/i2c-dev.c does over the Pi's
 * i2c-bcm2835 adapter:
 *   I2C_FUNCS          I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL, what i2c-bcm2835 reports (so no
 *                      I2C_FUNC_SMBUS_READ_BLOCK_DATA: tools that check do not ask for
 *                      SMBus block reads; those that ask anyway are served, see below)
 *   I2C_SLAVE, I2C_SLAVE_FORCE  remembered per descriptor; EINVAL above 0x7F (0x3FF with
 *                      I2C_TENBIT). No kernel driver is bound here, so never EBUSY.
 *   I2C_TENBIT, I2C_PEC remembered per descriptor; 10-bit transfers then fail with
 *                      EOPNOTSUPP at the server, as the Pi's adapter cannot address them
 *   I2C_TIMEOUT, I2C_RETRIES  accepted
 *   I2C_RDWR           forwarded; the number of messages, or -1 with the server's errno
 *                      (EREMOTEIO for no ACK, ...). EINVAL for 0 or more than 42 messages,
 *                      a message over 8192 bytes, or an I2C_M_RECV_LEN message whose
 *                      buffer cannot hold a 32-byte block
 *   I2C_SMBUS          translated into I2C_RDWR messages exactly as the kernel's
 *                      i2c_smbus_xfer_emulated does (quick, byte, byte data, word data,
 *                      process call, block, block process call, I2C block, with PEC when
 *                      I2C_PEC is set); EINVAL for an unknown size or direction, EBADMSG
 *                      for a wrong PEC, EPROTO for a block length outside 1..32
 *   read(), write()    one read or write message of at most 8192 bytes to the remembered
 *                      address (i2c_master_recv / i2c_master_send); __read_chk too, so
 *                      programs built with _FORTIFY_SOURCE are served
 *   anything else      -1 with ENOTTY
 * and the path looks like a character device (major 89, minor N) to stat, lstat,
 * fstatat, fstat, statx, access and faccessat, and to a readdir of /dev.
 *
 *   HUBRIG_SENSEHAT_SOCKET  the rig's Sense HAT kernel stand-in (HubLive's
 *                           SenseHATKernelServer, `hubrig sim i2c-serve --sensehat-socket`);
 *                           unset: no framebuffer or joystick is faked
 *
 * With it, the devices the rpi-sense overlay's kernel drivers make appear too, at the first
 * indices free on this machine (N, M): /sys/class/graphics/fbN/name reads "RPi-Sense FB",
 * /sys/class/input/eventM/device/name "Raspberry Pi Sense HAT Joystick" (both listed by
 * readdir, parents that do not exist included), and
 *   /dev/fbN           the server's 128-byte RGB565 memory file, opened read-write: read,
 *                      write (never past 128 bytes: EFBIG, ENOSPC, as fb_sys_write), lseek
 *                      and mmap are the file's own; FBIOGET_VSCREENINFO/FSCREENINFO say
 *                      8 x 8 x 16 "RPi-Sense FB"; rpisense-fb's gamma ioctls (0xF100 get,
 *                      0xF101 set, 0xF102 reset) go to the server; others EINVAL
 *   /dev/input/eventM  a connection on which the server writes 24-byte input events;
 *                      read, select and poll are the socket's own; EVIOCGNAME answers the
 *                      name, other evdev requests EINVAL
 * and both are character devices (29:N, 13:64+M) to stat. scandir(3) of a directory with
 * faked entries is answered here too (glibc's own runs on internal calls).
 *
 * If the server cannot be reached, open fails with connect's errno (ENOENT when no socket
 * exists at the path, ECONNREFUSED when nobody listens): the host program sees an ordinary
 * failed open, never a crash. A server that goes away mid-transfer fails it with EIO.
 * Not faked: descriptors duplicated with dup(2), and fopen(3), which opens through glibc's
 * internal entry points. One descriptor used from several threads is safe: its transfers
 * are serialised.
 *
 * Wire protocol (little-endian; layout documented in HubLive/I2CSocketProtocol.swift):
 *   request  u16 count, then per message u16 addr, u16 flags, u16 len, and len data
 *            bytes for writes (no I2C_M_RD)
 *   reply    i32 status (0 or a positive errno), then on success for each read message
 *            its len bytes; an I2C_M_RECV_LEN read carries len + 32 bytes, the first the
 *            block length the device sent
 */
#undef _FORTIFY_SOURCE /* fortified open() is an inline wrapper we could not replace */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/fb.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>

#define SHIM_MAX_FDS 64
#define SHIM_MAX_MSGS I2C_RDWR_IOCTL_MAX_MSGS
#define SHIM_MAX_LEN 8192
#define I2C_DEV_MAJOR 89
#define SENSEHAT_FB_BYTES 128
/* The flags a client remembers and puts on its SMBus and read()/write() messages. */
#define SHIM_CLIENT_PEC 0x04 /* I2C_CLIENT_PEC in the kernel */

/* One descriptor this shim created: its own connection and its i2c-dev client state. */
enum shim_kind { KIND_I2C, KIND_FB, KIND_JOYSTICK };

struct shim_fd {
    int fd;            /* the descriptor the program holds; -1: free */
    enum shim_kind kind;
    int control;       /* KIND_FB: the socket its ioctls go over; else -1 */
    uint16_t addr;     /* I2C_SLAVE */
    int tenbit;        /* I2C_TENBIT */
    int pec;           /* I2C_PEC */
    pthread_mutex_t io; /* serialises this descriptor's frames */
};

static struct shim_fd shim_fds[SHIM_MAX_FDS];
static int shim_fds_ready;
/* Faked descriptors open: while 0, the program's own reads and writes skip the table. */
static int faked_count;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

#define SHIM_MAX_DIRS 8

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

#define REAL(type, name) ((type)real(&real_##name##_p, #name))
static void *real_open_p, *real_open64_p, *real_openat_p, *real_openat64_p, *real_ioctl_p, *real_close_p,
    *real_read_p, *real___read_chk_p, *real_write_p, *real_stat_p, *real_stat64_p, *real_lstat_p,
    *real_lstat64_p, *real_fstatat_p, *real_fstatat64_p, *real_fstat_p, *real_fstat64_p, *real_statx_p,
    *real_access_p, *real_faccessat_p, *real_opendir_p, *real_readdir_p, *real_readdir64_p,
    *real_closedir_p, *real_scandir_p, *real_scandir64_p;

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef int (*close_fn)(int);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*read_chk_fn)(int, void *, size_t, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef int (*stat_fn)(const char *, struct stat *);
typedef int (*stat64_fn)(const char *, struct stat64 *);
typedef int (*fstatat_fn)(int, const char *, struct stat *, int);
typedef int (*fstatat64_fn)(int, const char *, struct stat64 *, int);
typedef int (*fstat_fn)(int, struct stat *);
typedef int (*fstat64_fn)(int, struct stat64 *);
typedef int (*statx_fn)(int, const char *, int, unsigned int, struct statx *);
typedef int (*access_fn)(const char *, int);
typedef int (*faccessat_fn)(int, const char *, int, int);
typedef DIR *(*opendir_fn)(const char *);
typedef struct dirent *(*readdir_fn)(DIR *);
typedef struct dirent64 *(*readdir64_fn)(DIR *);
typedef int (*closedir_fn)(DIR *);
typedef int (*scandir_fn)(const char *, struct dirent ***, int (*)(const struct dirent *),
                          int (*)(const struct dirent **, const struct dirent **));
typedef int (*scandir64_fn)(const char *, struct dirent64 ***, int (*)(const struct dirent64 *),
                            int (*)(const struct dirent64 **, const struct dirent64 **));

/* ---- the descriptor table ------------------------------------------------------------ */

static void table_init_locked(void) {
    if (shim_fds_ready) return;
    for (int i = 0; i < SHIM_MAX_FDS; i++) {
        shim_fds[i].fd = -1;
        pthread_mutex_init(&shim_fds[i].io, NULL);
    }
    shim_fds_ready = 1;
}

/* The entry of a faked descriptor, or NULL. Entries are never freed, only marked free,
 * so the pointer stays valid; a descriptor closed while another thread uses it is the
 * program's own race, as with any file. */
static struct shim_fd *lookup(int fd) {
    struct shim_fd *found = NULL;
    if (fd < 0 || __atomic_load_n(&faked_count, __ATOMIC_ACQUIRE) == 0) return NULL;
    pthread_mutex_lock(&table_lock);
    table_init_locked();
    for (int i = 0; i < SHIM_MAX_FDS; i++) {
        if (shim_fds[i].fd == fd) { found = &shim_fds[i]; break; }
    }
    pthread_mutex_unlock(&table_lock);
    return found;
}

static int remember_fd(int fd, enum shim_kind kind, int control) {
    int stored = 0;
    pthread_mutex_lock(&table_lock);
    table_init_locked();
    for (int i = 0; i < SHIM_MAX_FDS; i++) {
        if (shim_fds[i].fd < 0) {
            shim_fds[i].fd = fd;
            shim_fds[i].kind = kind;
            shim_fds[i].control = control;
            shim_fds[i].addr = 0;
            shim_fds[i].tenbit = 0;
            shim_fds[i].pec = 0;
            __atomic_add_fetch(&faked_count, 1, __ATOMIC_RELEASE);
            stored = 1;
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return stored;
}

/* Forgets `fd`; returns the control socket it had (to close), or -1. */
static int forget_fd(int fd) {
    int control = -1;
    if (fd < 0 || __atomic_load_n(&faked_count, __ATOMIC_ACQUIRE) == 0) return -1;
    pthread_mutex_lock(&table_lock);
    table_init_locked();
    for (int i = 0; i < SHIM_MAX_FDS; i++) {
        if (shim_fds[i].fd == fd) {
            shim_fds[i].fd = -1;
            control = shim_fds[i].control;
            shim_fds[i].control = -1;
            __atomic_sub_fetch(&faked_count, 1, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&table_lock);
    return control;
}

/* ---- the path ------------------------------------------------------------------------ */

static const char *device_path(void) {
    const char *device = getenv("HUBRIG_I2C_DEVICE");
    return (device && *device) ? device : NULL;
}

/* True when `path` (relative to dirfd) is the configured device. Only absolute paths and
 * paths relative to the working directory compare; the device is always given absolutely. */
static int is_device(int dirfd, const char *path) {
    const char *device = device_path();
    if (!device || !path) return 0;
    if (path[0] != '/' && dirfd != AT_FDCWD) return 0;
    return strcmp(path, device) == 0;
}

/* The adapter number N of /dev/i2c-N: the digits the path ends with (0 if none). */
static unsigned int device_minor(void) {
    const char *device = device_path(), *end;
    unsigned int minor = 0, scale = 1;
    if (!device) return 0;
    end = device + strlen(device);
    while (end > device && end[-1] >= '0' && end[-1] <= '9' && scale <= 100000) {
        end--;
        minor += (unsigned int)(*end - '0') * scale;
        scale *= 10;
    }
    return minor;
}

/* The directory and the name of the device, e.g. "/dev" and "i2c-1"; 0 if not absolute. */
static int device_split(char *dir, size_t size, const char **name) {
    const char *device = device_path(), *slash;
    size_t length;
    if (!device || device[0] != '/') return 0;
    slash = strrchr(device, '/');
    length = (size_t)(slash - device);
    if (length == 0) length = 1; /* the root directory */
    if (length >= size || slash[1] == 0) return 0;
    memcpy(dir, device, length);
    dir[length] = 0;
    *name = slash + 1;
    return 1;
}

/* ---- opening ------------------------------------------------------------------------- */

/* Connects a stream socket to the server at the path in `variable`; the descriptor, or
 * -1 with errno set. */
static int connect_to(const char *variable, int flags) {
    const char *path = getenv(variable);
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
        REAL(close_fn, close)(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* The Sense HAT's kernel devices, further down. */
static int is_sensehat_path(int dirfd, const char *path);
static int open_sensehat(const char *path, int flags);

/* Opens the faked I2C adapter: its own connection to the I2C server. */
static int open_i2c(int flags) {
    int fd = connect_to("HUBRIG_I2C_SOCKET", flags);
    if (fd < 0) return -1;
    if (!remember_fd(fd, KIND_I2C, -1)) {
        REAL(close_fn, close)(fd);
        errno = EMFILE;
        return -1;
    }
    return fd;
}

static int needs_mode(int flags) {
    return (flags & O_CREAT) || ((flags & O_TMPFILE) == O_TMPFILE);
}

#define OPEN_MODE(flags, mode)                                                                 \
    do {                                                                                       \
        if (needs_mode(flags)) {                                                               \
            va_list ap;                                                                        \
            va_start(ap, flags);                                                               \
            mode = va_arg(ap, mode_t);                                                         \
            va_end(ap);                                                                        \
        }                                                                                      \
    } while (0)

int open(const char *path, int flags, ...) {
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (is_device(AT_FDCWD, path)) return open_i2c(flags);
    if (is_sensehat_path(AT_FDCWD, path)) return open_sensehat(path, flags);
    return REAL(open_fn, open)(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (is_device(AT_FDCWD, path)) return open_i2c(flags);
    if (is_sensehat_path(AT_FDCWD, path)) return open_sensehat(path, flags);
    return REAL(open_fn, open64)(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (is_device(dirfd, path)) return open_i2c(flags);
    if (is_sensehat_path(dirfd, path)) return open_sensehat(path, flags);
    return REAL(openat_fn, openat)(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (is_device(dirfd, path)) return open_i2c(flags);
    if (is_sensehat_path(dirfd, path)) return open_sensehat(path, flags);
    return REAL(openat_fn, openat64)(dirfd, path, flags, mode);
}

int close(int fd) {
    int control = forget_fd(fd);
    if (control >= 0) REAL(close_fn, close)(control);
    return REAL(close_fn, close)(fd);
}

/* ---- the wire ------------------------------------------------------------------------ */

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

/* The bytes a read message's reply carries: an I2C_M_RECV_LEN read may get a whole block. */
static size_t reply_length(const struct i2c_msg *msg) {
    return msg->len + ((msg->flags & I2C_M_RECV_LEN) ? I2C_SMBUS_BLOCK_MAX : 0);
}

/* One transfer over the socket, messages already checked against the kernel's limits.
 * Each I2C_M_RECV_LEN message's len grows by the block length received, as an adapter
 * driver grows it. Returns nmsgs, or -1 with errno. */
static int transfer(struct shim_fd *s, struct i2c_msg *msgs, uint32_t nmsgs) {
    size_t size = 2, at;
    uint8_t *frame, status_bytes[4], *scratch = NULL;
    int32_t status;
    int result = -1, saved = 0;

    for (uint32_t i = 0; i < nmsgs; i++) size += 6 + ((msgs[i].flags & I2C_M_RD) ? 0 : msgs[i].len);
    frame = malloc(size);
    if (!frame) { errno = ENOMEM; return -1; }
    put_u16(frame, (uint16_t)nmsgs);
    at = 2;
    for (uint32_t i = 0; i < nmsgs; i++) {
        const struct i2c_msg *msg = &msgs[i];
        put_u16(frame + at, msg->addr);
        put_u16(frame + at + 2, msg->flags);
        put_u16(frame + at + 4, msg->len);
        at += 6;
        if (!(msg->flags & I2C_M_RD) && msg->len > 0) {
            memcpy(frame + at, msg->buf, msg->len);
            at += msg->len;
        }
    }

    pthread_mutex_lock(&s->io);
    if (send_all(s->fd, frame, size) != 0 || recv_all(s->fd, status_bytes, 4) != 0) {
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
    /* The reply bytes land in the caller's read buffers, in message order. */
    for (uint32_t i = 0; i < nmsgs; i++) {
        struct i2c_msg *msg = &msgs[i];
        size_t length = reply_length(msg);
        if (!(msg->flags & I2C_M_RD) || length == 0) continue;
        if (!(msg->flags & I2C_M_RECV_LEN)) {
            if (recv_all(s->fd, msg->buf, length) != 0) { saved = (errno == ECONNRESET) ? EIO : errno; goto done; }
            continue;
        }
        /* The server sends the block padded to its maximum; the caller's buffer holds at
         * least the block it can get (checked before), the padding goes to scratch. */
        scratch = malloc(length);
        if (!scratch) { saved = ENOMEM; goto done; }
        if (recv_all(s->fd, scratch, length) != 0) { saved = (errno == ECONNRESET) ? EIO : errno; goto done; }
        if (scratch[0] < 1 || scratch[0] > I2C_SMBUS_BLOCK_MAX) { saved = EPROTO; goto done; }
        msg->len = (uint16_t)(msg->len + scratch[0]);
        memcpy(msg->buf, scratch, msg->len);
        free(scratch);
        scratch = NULL;
    }
    result = (int)nmsgs;
done:
    pthread_mutex_unlock(&s->io);
    free(scratch);
    free(frame);
    if (result < 0) errno = saved;
    return result;
}

/* ---- I2C_RDWR ------------------------------------------------------------------------ */

/* i2cdev_ioctl_rdwr: the kernel's checks, then the transfer. Returns nmsgs or -1. */
static int ioctl_rdwr(struct shim_fd *s, struct i2c_rdwr_ioctl_data *data) {
    uint16_t user_len[SHIM_MAX_MSGS];
    int result;
    if (!data) { errno = EFAULT; return -1; }
    if (data->nmsgs > SHIM_MAX_MSGS || data->nmsgs == 0) { errno = EINVAL; return -1; }
    if (!data->msgs) { errno = EFAULT; return -1; }
    for (uint32_t i = 0; i < data->nmsgs; i++) {
        struct i2c_msg *msg = &data->msgs[i];
        if (msg->len > SHIM_MAX_LEN) { errno = EINVAL; return -1; }
        if (msg->len > 0 && !msg->buf) { errno = EFAULT; return -1; }
        if (msg->flags & I2C_M_RECV_LEN) {
            /* buf[0] says how many bytes besides the block the caller reads (1, or 2 with
             * PEC), and the buffer must hold them plus a 32-byte block. */
            if (!(msg->flags & I2C_M_RD) || msg->len == 0 || msg->buf[0] < 1 ||
                msg->len < msg->buf[0] + I2C_SMBUS_BLOCK_MAX) {
                errno = EINVAL;
                return -1;
            }
        }
    }
    /* The kernel works on a copy of the message array: the caller's len fields stay. */
    for (uint32_t i = 0; i < data->nmsgs; i++) {
        user_len[i] = data->msgs[i].len;
        if (data->msgs[i].flags & I2C_M_RECV_LEN) data->msgs[i].len = data->msgs[i].buf[0];
    }
    result = transfer(s, data->msgs, data->nmsgs);
    for (uint32_t i = 0; i < data->nmsgs; i++) data->msgs[i].len = user_len[i];
    return result;
}

/* ---- I2C_SMBUS, as i2c_smbus_xfer_emulated ------------------------------------------- */

/* SMBus PEC: CRC-8, polynomial x^8 + x^2 + x + 1, over the address byte and the data. */
static uint8_t crc8(uint8_t crc, const uint8_t *bytes, size_t count) {
    for (size_t i = 0; i < count; i++) {
        crc ^= bytes[i];
        for (int bit = 0; bit < 8; bit++) crc = (uint8_t)((crc & 0x80) ? (crc << 1) ^ 0x07 : crc << 1);
    }
    return crc;
}

static uint8_t msg_pec(uint8_t pec, const struct i2c_msg *msg) {
    uint8_t address = (uint8_t)((msg->addr << 1) | (msg->flags & I2C_M_RD));
    pec = crc8(pec, &address, 1);
    return crc8(pec, msg->buf, msg->len);
}

static int smbus_xfer(struct shim_fd *s, char read_write, uint8_t command, int size, union i2c_smbus_data *data) {
    uint8_t buf0[I2C_SMBUS_BLOCK_MAX + 3], buf1[I2C_SMBUS_BLOCK_MAX + 2 + I2C_SMBUS_BLOCK_MAX];
    uint16_t flags = s->tenbit ? I2C_M_TEN : 0;
    struct i2c_msg msg[2] = {
        { s->addr, flags, 1, buf0 },
        { s->addr, (uint16_t)(flags | I2C_M_RD), 0, buf1 },
    };
    uint32_t nmsgs = read_write == I2C_SMBUS_READ ? 2 : 1;
    uint8_t partial_pec = 0;
    int pec;

    buf0[0] = command;
    switch (size) {
    case I2C_SMBUS_QUICK:
        msg[0].len = 0;
        msg[0].flags = (uint16_t)(flags | (read_write == I2C_SMBUS_READ ? I2C_M_RD : 0));
        nmsgs = 1;
        break;
    case I2C_SMBUS_BYTE:
        if (read_write == I2C_SMBUS_READ) {
            msg[0].flags = (uint16_t)(I2C_M_RD | flags);
            nmsgs = 1;
        }
        break;
    case I2C_SMBUS_BYTE_DATA:
        if (read_write == I2C_SMBUS_READ) {
            msg[1].len = 1;
        } else {
            msg[0].len = 2;
            buf0[1] = data->byte;
        }
        break;
    case I2C_SMBUS_WORD_DATA:
        if (read_write == I2C_SMBUS_READ) {
            msg[1].len = 2;
        } else {
            msg[0].len = 3;
            buf0[1] = (uint8_t)(data->word & 0xFF);
            buf0[2] = (uint8_t)(data->word >> 8);
        }
        break;
    case I2C_SMBUS_PROC_CALL:
        nmsgs = 2;
        read_write = I2C_SMBUS_READ;
        msg[0].len = 3;
        msg[1].len = 2;
        buf0[1] = (uint8_t)(data->word & 0xFF);
        buf0[2] = (uint8_t)(data->word >> 8);
        break;
    case I2C_SMBUS_BLOCK_DATA:
        if (read_write == I2C_SMBUS_READ) {
            msg[1].flags |= I2C_M_RECV_LEN;
            msg[1].len = 1; /* the device's length byte; the block is added to it */
        } else {
            if (data->block[0] > I2C_SMBUS_BLOCK_MAX) { errno = EINVAL; return -1; }
            msg[0].len = (uint16_t)(data->block[0] + 2);
            memcpy(buf0 + 1, data->block, (size_t)data->block[0] + 1);
        }
        break;
    case I2C_SMBUS_BLOCK_PROC_CALL:
        nmsgs = 2;
        read_write = I2C_SMBUS_READ;
        if (data->block[0] > I2C_SMBUS_BLOCK_MAX) { errno = EINVAL; return -1; }
        msg[0].len = (uint16_t)(data->block[0] + 2);
        memcpy(buf0 + 1, data->block, (size_t)data->block[0] + 1);
        msg[1].flags |= I2C_M_RECV_LEN;
        msg[1].len = 1;
        break;
    case I2C_SMBUS_I2C_BLOCK_DATA:
        if (data->block[0] > I2C_SMBUS_BLOCK_MAX) { errno = EINVAL; return -1; }
        if (read_write == I2C_SMBUS_READ) {
            msg[1].len = data->block[0];
        } else {
            msg[0].len = (uint16_t)(data->block[0] + 1);
            memcpy(buf0 + 1, data->block + 1, data->block[0]);
        }
        break;
    default:
        errno = EOPNOTSUPP;
        return -1;
    }

    pec = s->pec && size != I2C_SMBUS_QUICK && size != I2C_SMBUS_I2C_BLOCK_DATA;
    if (pec) {
        if (!(msg[0].flags & I2C_M_RD)) {
            if (nmsgs == 1) {
                buf0[msg[0].len] = msg_pec(0, &msg[0]);
                msg[0].len++;
            } else {
                partial_pec = msg_pec(0, &msg[0]);
            }
        }
        if (msg[nmsgs - 1].flags & I2C_M_RD) msg[nmsgs - 1].len++;
    }

    if (transfer(s, msg, nmsgs) < 0) return -1;

    if (pec && (msg[nmsgs - 1].flags & I2C_M_RD)) {
        struct i2c_msg *last = &msg[nmsgs - 1];
        uint8_t received = last->buf[--last->len];
        if (received != msg_pec(partial_pec, last)) { errno = EBADMSG; return -1; }
    }

    if (read_write == I2C_SMBUS_READ) {
        switch (size) {
        case I2C_SMBUS_BYTE:
            data->byte = buf0[0];
            break;
        case I2C_SMBUS_BYTE_DATA:
            data->byte = buf1[0];
            break;
        case I2C_SMBUS_WORD_DATA:
        case I2C_SMBUS_PROC_CALL:
            data->word = (uint16_t)(buf1[0] | (buf1[1] << 8));
            break;
        case I2C_SMBUS_I2C_BLOCK_DATA:
            memcpy(data->block + 1, buf1, data->block[0]);
            break;
        case I2C_SMBUS_BLOCK_DATA:
        case I2C_SMBUS_BLOCK_PROC_CALL:
            if (buf1[0] > I2C_SMBUS_BLOCK_MAX) { errno = EPROTO; return -1; }
            memcpy(data->block, buf1, (size_t)buf1[0] + 1);
            break;
        }
    }
    return 0;
}

/* i2cdev_ioctl_smbus: the kernel's checks and copies around the emulated transfer. */
static int ioctl_smbus(struct shim_fd *s, struct i2c_smbus_ioctl_data *args) {
    union i2c_smbus_data copy;
    int size;
    char read_write;
    if (!args) { errno = EFAULT; return -1; }
    size = (int)args->size;
    read_write = (char)args->read_write;
    if (size != I2C_SMBUS_BYTE && size != I2C_SMBUS_QUICK && size != I2C_SMBUS_BYTE_DATA &&
        size != I2C_SMBUS_WORD_DATA && size != I2C_SMBUS_PROC_CALL && size != I2C_SMBUS_BLOCK_DATA &&
        size != I2C_SMBUS_I2C_BLOCK_BROKEN && size != I2C_SMBUS_I2C_BLOCK_DATA &&
        size != I2C_SMBUS_BLOCK_PROC_CALL) {
        errno = EINVAL;
        return -1;
    }
    if (args->read_write != I2C_SMBUS_READ && args->read_write != I2C_SMBUS_WRITE) { errno = EINVAL; return -1; }
    if (size == I2C_SMBUS_QUICK || (size == I2C_SMBUS_BYTE && read_write == I2C_SMBUS_WRITE))
        return smbus_xfer(s, read_write, args->command, size, NULL);
    if (!args->data) { errno = EINVAL; return -1; }

    memset(&copy, 0, sizeof copy);
    if (size == I2C_SMBUS_PROC_CALL || size == I2C_SMBUS_BLOCK_PROC_CALL || size == I2C_SMBUS_I2C_BLOCK_DATA ||
        read_write == I2C_SMBUS_WRITE) {
        size_t datasize = (size == I2C_SMBUS_BYTE_DATA || size == I2C_SMBUS_BYTE) ? sizeof copy.byte
                        : (size == I2C_SMBUS_WORD_DATA || size == I2C_SMBUS_PROC_CALL) ? sizeof copy.word
                        : sizeof copy.block;
        memcpy(&copy, args->data, datasize);
    }
    if (size == I2C_SMBUS_I2C_BLOCK_BROKEN) {
        /* The old ABI: a read of 32 bytes, whatever block[0] said. */
        size = I2C_SMBUS_I2C_BLOCK_DATA;
        if (read_write == I2C_SMBUS_READ) copy.block[0] = I2C_SMBUS_BLOCK_MAX;
    }
    if (smbus_xfer(s, read_write, args->command, size, &copy) < 0) return -1;
    if (size == I2C_SMBUS_PROC_CALL || size == I2C_SMBUS_BLOCK_PROC_CALL || read_write == I2C_SMBUS_READ) {
        size_t datasize = (size == I2C_SMBUS_BYTE_DATA || size == I2C_SMBUS_BYTE) ? sizeof copy.byte
                        : (size == I2C_SMBUS_WORD_DATA || size == I2C_SMBUS_PROC_CALL) ? sizeof copy.word
                        : sizeof copy.block;
        memcpy(args->data, &copy, datasize);
    }
    return 0;
}

/* ---- the Sense HAT's kernel devices (HUBRIG_SENSEHAT_SOCKET) -------------------------- */

/* With the overlay loaded, a Pi has a framebuffer named "RPi-Sense FB" and an input device
 * named "Raspberry Pi Sense HAT Joystick". Programs find them by name under /sys/class and
 * open /dev/fbN and /dev/input/eventM. N and M are the first indices free on this machine,
 * so a real framebuffer or keyboard is never shadowed. */
struct sensehat_paths {
    unsigned int fb_index, js_index;
    char fb_dev[40], fb_dir[48], fb_name[56];
    char js_dev[40], js_dir[48], js_device_dir[56], js_name[64];
};
static struct sensehat_paths sensehat;
static int sensehat_ready;
static pthread_mutex_t sensehat_lock = PTHREAD_MUTEX_INITIALIZER;

static const char fb_name_text[] = "RPi-Sense FB\n";
static const char js_name_text[] = "Raspberry Pi Sense HAT Joystick\n";

static int real_exists(const char *path) {
    struct stat info;
    return REAL(stat_fn, stat)(path, &info) == 0;
}

static const struct sensehat_paths *sensehat_paths(void) {
    const char *socket_path = getenv("HUBRIG_SENSEHAT_SOCKET");
    if (!socket_path || !*socket_path) return NULL;
    pthread_mutex_lock(&sensehat_lock);
    if (!sensehat_ready) {
        char probe[64];
        unsigned int n = 0, m = 0;
        do { snprintf(probe, sizeof probe, "/sys/class/graphics/fb%u", n); } while (real_exists(probe) && ++n < 32);
        do { snprintf(probe, sizeof probe, "/sys/class/input/event%u", m); } while (real_exists(probe) && ++m < 256);
        sensehat.fb_index = n;
        sensehat.js_index = m;
        snprintf(sensehat.fb_dev, sizeof sensehat.fb_dev, "/dev/fb%u", n);
        snprintf(sensehat.fb_dir, sizeof sensehat.fb_dir, "/sys/class/graphics/fb%u", n);
        snprintf(sensehat.fb_name, sizeof sensehat.fb_name, "/sys/class/graphics/fb%u/name", n);
        snprintf(sensehat.js_dev, sizeof sensehat.js_dev, "/dev/input/event%u", m);
        snprintf(sensehat.js_dir, sizeof sensehat.js_dir, "/sys/class/input/event%u", m);
        snprintf(sensehat.js_device_dir, sizeof sensehat.js_device_dir, "/sys/class/input/event%u/device", m);
        snprintf(sensehat.js_name, sizeof sensehat.js_name, "/sys/class/input/event%u/device/name", m);
        sensehat_ready = 1;
    }
    pthread_mutex_unlock(&sensehat_lock);
    return &sensehat;
}

/* What a faked path is. */
enum fake_node { NODE_NONE, NODE_FB, NODE_JOYSTICK, NODE_FB_NAME, NODE_JS_NAME, NODE_DIR };

static enum fake_node sensehat_node(int dirfd, const char *path) {
    const struct sensehat_paths *p;
    if (!path || (path[0] != '/' && dirfd != AT_FDCWD) || !(p = sensehat_paths())) return NODE_NONE;
    if (strcmp(path, p->fb_dev) == 0) return NODE_FB;
    if (strcmp(path, p->js_dev) == 0) return NODE_JOYSTICK;
    if (strcmp(path, p->fb_name) == 0) return NODE_FB_NAME;
    if (strcmp(path, p->js_name) == 0) return NODE_JS_NAME;
    if (strcmp(path, p->fb_dir) == 0 || strcmp(path, p->js_dir) == 0 || strcmp(path, p->js_device_dir) == 0)
        return NODE_DIR;
    /* Parents that a container may lack. */
    if (strcmp(path, "/sys/class/graphics") == 0 || strcmp(path, "/sys/class/input") == 0 ||
        strcmp(path, "/dev/input") == 0)
        return real_exists(path) ? NODE_NONE : NODE_DIR;
    return NODE_NONE;
}

static int is_sensehat_path(int dirfd, const char *path) {
    enum fake_node node = sensehat_node(dirfd, path);
    return node == NODE_FB || node == NODE_JOYSTICK || node == NODE_FB_NAME || node == NODE_JS_NAME;
}

/* A sysfs attribute as an anonymous file holding `text`. */
static int open_text(const char *text, int flags) {
    int fd = memfd_create("hubrig-sysfs", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
    size_t length = strlen(text);
    if (fd < 0) return -1;
    if (REAL(write_fn, write)(fd, text, length) != (ssize_t)length || lseek(fd, 0, SEEK_SET) != 0) {
        int saved = errno;
        REAL(close_fn, close)(fd);
        errno = saved ? saved : EIO;
        return -1;
    }
    return fd;
}

/* The framebuffer: the server names its memory file, which the program then reads,
 * writes and maps like the driver's memory; ioctls go over the connection. */
static int open_fb(int flags) {
    uint8_t header[6];
    char path[4096];
    uint16_t length;
    int32_t status;
    int control = connect_to("HUBRIG_SENSEHAT_SOCKET", flags), fd, saved;
    if (control < 0) return -1;
    if (send_all(control, (const uint8_t *)"F", 1) != 0 || recv_all(control, header, sizeof header) != 0) goto fail;
    status = (int32_t)((uint32_t)header[0] | (uint32_t)header[1] << 8 | (uint32_t)header[2] << 16 | (uint32_t)header[3] << 24);
    length = (uint16_t)(header[4] | header[5] << 8);
    if (status != 0) { errno = (status > 0 && status < 4096) ? status : EIO; goto fail; }
    if (length == 0 || length >= sizeof path) { errno = EIO; goto fail; }
    if (recv_all(control, (uint8_t *)path, length) != 0) goto fail;
    path[length] = 0;
    fd = REAL(open_fn, open)(path, O_RDWR | (flags & O_CLOEXEC), 0);
    if (fd < 0) goto fail;
    if (!remember_fd(fd, KIND_FB, control)) {
        REAL(close_fn, close)(fd);
        errno = EMFILE;
        goto fail;
    }
    return fd;
fail:
    saved = errno;
    REAL(close_fn, close)(control);
    errno = saved;
    return -1;
}

/* The joystick: the connection itself, on which the server writes input events. */
static int open_joystick(int flags) {
    int fd = connect_to("HUBRIG_SENSEHAT_SOCKET", flags), saved;
    if (fd < 0) return -1;
    if (send_all(fd, (const uint8_t *)"J", 1) != 0 || !remember_fd(fd, KIND_JOYSTICK, -1)) {
        saved = errno ? errno : EMFILE;
        REAL(close_fn, close)(fd);
        errno = saved;
        return -1;
    }
    if (flags & O_NONBLOCK) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static int open_sensehat(const char *path, int flags) {
    switch (sensehat_node(AT_FDCWD, path)) {
    case NODE_FB: return open_fb(flags);
    case NODE_JOYSTICK: return open_joystick(flags);
    case NODE_FB_NAME: return open_text(fb_name_text, flags);
    case NODE_JS_NAME: return open_text(js_name_text, flags);
    default: errno = ENOENT; return -1;
    }
}

/* rpisense-fb's ioctls (SENSEFB_FBIO*, magic 0xF1); the fbdev screen queries come from
 * <linux/fb.h>. */
#define SENSEFB_FBIOGET_GAMMA 0xF100
#define SENSEFB_FBIOSET_GAMMA 0xF101
#define SENSEFB_FBIORESET_GAMMA 0xF102

/* rpisense-fb's screen: 8 × 8, 16 bits per pixel, RGB565, 16-byte lines. */
static void fill_var_screeninfo(struct fb_var_screeninfo *var) {
    memset(var, 0, sizeof *var);
    var->xres = var->yres = var->xres_virtual = var->yres_virtual = 8;
    var->bits_per_pixel = 16;
    var->red.offset = 11;
    var->red.length = 5;
    var->green.offset = 5;
    var->green.length = 6;
    var->blue.offset = 0;
    var->blue.length = 5;
}

static void fill_fix_screeninfo(struct fb_fix_screeninfo *fix) {
    memset(fix, 0, sizeof *fix);
    memcpy(fix->id, "RPi-Sense FB", 12);
    fix->smem_len = SENSEHAT_FB_BYTES;
    fix->type = FB_TYPE_PACKED_PIXELS;
    fix->visual = FB_VISUAL_TRUECOLOR;
    fix->accel = FB_ACCEL_NONE;
    fix->line_length = 16;
}

static int fb_gamma(struct shim_fd *s, uint8_t op, const uint8_t *argument, size_t argument_size, uint8_t *gamma_out) {
    uint8_t request[1 + 32], status_bytes[4];
    int32_t status;
    int result = -1;
    request[0] = op;
    memcpy(request + 1, argument, argument_size);
    pthread_mutex_lock(&s->io);
    if (send_all(s->control, request, 1 + argument_size) != 0 || recv_all(s->control, status_bytes, 4) != 0) {
        errno = EIO;
        goto done;
    }
    status = (int32_t)((uint32_t)status_bytes[0] | (uint32_t)status_bytes[1] << 8 | (uint32_t)status_bytes[2] << 16 |
                       (uint32_t)status_bytes[3] << 24);
    if (status != 0) { errno = (status > 0 && status < 4096) ? status : EIO; goto done; }
    if (gamma_out && recv_all(s->control, gamma_out, 32) != 0) { errno = EIO; goto done; }
    result = 0;
done:
    pthread_mutex_unlock(&s->io);
    return result;
}

static int fb_ioctl(struct shim_fd *s, unsigned long request, void *arg) {
    uint8_t which[4];
    uint32_t table = (uint32_t)(unsigned long)arg;
    switch (request) {
    case SENSEFB_FBIOGET_GAMMA:
        if (!arg) { errno = EFAULT; return -1; }
        return fb_gamma(s, 0, NULL, 0, arg);
    case SENSEFB_FBIOSET_GAMMA:
        if (!arg) { errno = EFAULT; return -1; }
        return fb_gamma(s, 1, arg, 32, NULL);
    case SENSEFB_FBIORESET_GAMMA:
        memcpy(which, &table, 4);
        return fb_gamma(s, 2, which, 4, NULL);
    case FBIOGET_VSCREENINFO:
        if (!arg) { errno = EFAULT; return -1; }
        fill_var_screeninfo(arg);
        return 0;
    case FBIOGET_FSCREENINFO:
        if (!arg) { errno = EFAULT; return -1; }
        fill_fix_screeninfo(arg);
        return 0;
    default:
        errno = EINVAL;
        return -1;
    }
}

/* evdev's EVIOCGNAME(len); every other evdev request is refused with EINVAL. */
static int joystick_ioctl(unsigned long request, void *arg) {
    if (_IOC_TYPE(request) == 'E' && _IOC_NR(request) == 0x06 && _IOC_DIR(request) == _IOC_READ) {
        size_t size = _IOC_SIZE(request), length = strlen(js_name_text) - 1; /* without the newline */
        if (!arg) { errno = EFAULT; return -1; }
        if (size == 0) return 0;
        if (length >= size) length = size - 1;
        memcpy(arg, js_name_text, length);
        ((char *)arg)[length] = 0;
        return (int)length + 1;
    }
    errno = EINVAL;
    return -1;
}

/* ---- ioctl --------------------------------------------------------------------------- */

static int i2c_ioctl(struct shim_fd *s, unsigned long request, void *arg) {
    unsigned long value = (unsigned long)arg;
    switch (request) {
    case I2C_RDWR:
        return ioctl_rdwr(s, (struct i2c_rdwr_ioctl_data *)arg);
    case I2C_SMBUS:
        return ioctl_smbus(s, (struct i2c_smbus_ioctl_data *)arg);
    case I2C_FUNCS:
        if (!arg) { errno = EFAULT; return -1; }
        *(unsigned long *)arg = I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL;
        return 0;
    case I2C_SLAVE:
    case I2C_SLAVE_FORCE:
        if (value > (s->tenbit ? 0x3FFul : 0x7Ful)) { errno = EINVAL; return -1; }
        s->addr = (uint16_t)value;
        return 0;
    case I2C_TENBIT:
        s->tenbit = value != 0;
        return 0;
    case I2C_PEC:
        s->pec = value != 0;
        return 0;
    case I2C_TIMEOUT:
    case I2C_RETRIES:
        return 0;
    default:
        errno = ENOTTY;
        return -1;
    }
}

int ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    void *arg;
    struct shim_fd *s;
    va_start(ap, request);
    arg = va_arg(ap, void *); /* every ioctl takes at most one pointer-sized argument */
    va_end(ap);

    s = lookup(fd);
    if (!s) return REAL(ioctl_fn, ioctl)(fd, request, arg);
    switch (s->kind) {
    case KIND_I2C: return i2c_ioctl(s, request, arg);
    case KIND_FB: return fb_ioctl(s, request, arg);
    case KIND_JOYSTICK: return joystick_ioctl(request, arg);
    }
    errno = ENOTTY;
    return -1;
}

/* ---- read and write ------------------------------------------------------------------ */

/* i2cdev_read / i2cdev_write: one message of at most 8192 bytes to the remembered address. */
static ssize_t plain_transfer(struct shim_fd *s, void *buf, size_t count, int reading) {
    struct i2c_msg msg;
    if (count > SHIM_MAX_LEN) count = SHIM_MAX_LEN;
    if (count > 0 && !buf) { errno = EFAULT; return -1; }
    msg.addr = s->addr;
    msg.flags = (uint16_t)((s->tenbit ? I2C_M_TEN : 0) | (reading ? I2C_M_RD : 0));
    msg.len = (uint16_t)count;
    msg.buf = buf;
    if (transfer(s, &msg, 1) < 0) return -1;
    return (ssize_t)count;
}

/* fb_sys_write: never past the 128 bytes of video memory (EFBIG, or ENOSPC for the part
 * that does not fit, which is still written). */
static ssize_t fb_write(int fd, const void *buf, size_t count) {
    off_t position = lseek(fd, 0, SEEK_CUR);
    int error = 0;
    ssize_t written;
    if (position < 0) return -1;
    if (position > SENSEHAT_FB_BYTES) { errno = EFBIG; return -1; }
    if (count > SENSEHAT_FB_BYTES) { error = EFBIG; count = SENSEHAT_FB_BYTES; }
    if ((off_t)count + position > SENSEHAT_FB_BYTES) {
        if (!error) error = ENOSPC;
        count = (size_t)(SENSEHAT_FB_BYTES - position);
    }
    written = REAL(write_fn, write)(fd, buf, count);
    if (written >= 0 && error) { errno = error; return -1; }
    return written;
}

ssize_t read(int fd, void *buf, size_t count) {
    struct shim_fd *s = lookup(fd);
    if (!s || s->kind != KIND_I2C) return REAL(read_fn, read)(fd, buf, count);
    return plain_transfer(s, buf, count, 1);
}

ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen) {
    struct shim_fd *s = lookup(fd);
    if (!s || s->kind != KIND_I2C) return REAL(read_chk_fn, __read_chk)(fd, buf, count, buflen);
    if (count > buflen) abort(); /* what the fortified C library does: a buffer overflow */
    return plain_transfer(s, buf, count, 1);
}

ssize_t write(int fd, const void *buf, size_t count) {
    struct shim_fd *s = lookup(fd);
    if (!s || s->kind == KIND_JOYSTICK) return REAL(write_fn, write)(fd, buf, count);
    if (s->kind == KIND_FB) return fb_write(fd, buf, count);
    return plain_transfer(s, (void *)buf, count, 0);
}

/* ---- faked paths and descriptors in stat ----------------------------------------------- */

/* The C library declares these pointers nonnull, but a program may still pass NULL (the
 * kernel answers EFAULT): tested through a function the compiler does not see through. */
__attribute__((noinline)) static int given(const void *pointer) {
    return pointer != NULL;
}

/* What stat says of a faked node: its mode, device number and size. */
struct fake_stat {
    mode_t mode;
    dev_t rdev;
    off_t size;
};

static int fake_path_stat(int dirfd, const char *path, struct fake_stat *out) {
    const struct sensehat_paths *p;
    if (is_device(dirfd, path)) {
        *out = (struct fake_stat){ S_IFCHR | 0660, makedev(I2C_DEV_MAJOR, device_minor()), 0 };
        return 1;
    }
    switch (sensehat_node(dirfd, path)) {
    case NODE_NONE: return 0;
    case NODE_FB:
        p = sensehat_paths();
        *out = (struct fake_stat){ S_IFCHR | 0660, makedev(29, p->fb_index), 0 };
        return 1;
    case NODE_JOYSTICK:
        p = sensehat_paths();
        *out = (struct fake_stat){ S_IFCHR | 0660, makedev(13, 64 + p->js_index), 0 };
        return 1;
    case NODE_FB_NAME:
        *out = (struct fake_stat){ S_IFREG | 0444, 0, 4096 };
        return 1;
    case NODE_JS_NAME:
        *out = (struct fake_stat){ S_IFREG | 0444, 0, 4096 };
        return 1;
    case NODE_DIR:
        *out = (struct fake_stat){ S_IFDIR | 0755, 0, 0 };
        return 1;
    }
    return 0;
}

static int fake_fd_stat(int fd, struct fake_stat *out) {
    struct shim_fd *s = lookup(fd);
    const struct sensehat_paths *p;
    if (!s) return 0;
    switch (s->kind) {
    case KIND_I2C:
        *out = (struct fake_stat){ S_IFCHR | 0660, makedev(I2C_DEV_MAJOR, device_minor()), 0 };
        return 1;
    case KIND_FB:
        p = sensehat_paths();
        *out = (struct fake_stat){ S_IFCHR | 0660, makedev(29, p ? p->fb_index : 0), 0 };
        return 1;
    case KIND_JOYSTICK:
        p = sensehat_paths();
        *out = (struct fake_stat){ S_IFCHR | 0660, makedev(13, 64 + (p ? p->js_index : 0)), 0 };
        return 1;
    }
    return 0;
}

#define FILL_STAT(info, fake)                                                                  \
    do {                                                                                       \
        memset((info), 0, sizeof *(info));                                                     \
        (info)->st_mode = (fake).mode;                                                         \
        (info)->st_rdev = (fake).rdev;                                                         \
        (info)->st_size = (fake).size;                                                         \
        (info)->st_nlink = 1;                                                                  \
        (info)->st_uid = getuid();                                                             \
        (info)->st_gid = getgid();                                                             \
        (info)->st_blksize = 4096;                                                             \
    } while (0)

int stat(const char *path, struct stat *info) {
    struct fake_stat fake;
    if (given(info) && fake_path_stat(AT_FDCWD, path, &fake)) { FILL_STAT(info, fake); return 0; }
    return REAL(stat_fn, stat)(path, info);
}

int stat64(const char *path, struct stat64 *info) {
    struct fake_stat fake;
    if (given(info) && fake_path_stat(AT_FDCWD, path, &fake)) { FILL_STAT(info, fake); return 0; }
    return REAL(stat64_fn, stat64)(path, info);
}

int lstat(const char *path, struct stat *info) {
    struct fake_stat fake;
    if (given(info) && fake_path_stat(AT_FDCWD, path, &fake)) { FILL_STAT(info, fake); return 0; }
    return REAL(stat_fn, lstat)(path, info);
}

int lstat64(const char *path, struct stat64 *info) {
    struct fake_stat fake;
    if (given(info) && fake_path_stat(AT_FDCWD, path, &fake)) { FILL_STAT(info, fake); return 0; }
    return REAL(stat64_fn, lstat64)(path, info);
}

int fstatat(int dirfd, const char *path, struct stat *info, int flags) {
    struct fake_stat fake;
    if (given(info) && given(path) && (*path ? fake_path_stat(dirfd, path, &fake)
                                             : ((flags & AT_EMPTY_PATH) && fake_fd_stat(dirfd, &fake)))) {
        FILL_STAT(info, fake);
        return 0;
    }
    return REAL(fstatat_fn, fstatat)(dirfd, path, info, flags);
}

int fstatat64(int dirfd, const char *path, struct stat64 *info, int flags) {
    struct fake_stat fake;
    if (given(info) && given(path) && (*path ? fake_path_stat(dirfd, path, &fake)
                                             : ((flags & AT_EMPTY_PATH) && fake_fd_stat(dirfd, &fake)))) {
        FILL_STAT(info, fake);
        return 0;
    }
    return REAL(fstatat64_fn, fstatat64)(dirfd, path, info, flags);
}

int fstat(int fd, struct stat *info) {
    struct fake_stat fake;
    if (given(info) && fake_fd_stat(fd, &fake)) { FILL_STAT(info, fake); return 0; }
    return REAL(fstat_fn, fstat)(fd, info);
}

int fstat64(int fd, struct stat64 *info) {
    struct fake_stat fake;
    if (given(info) && fake_fd_stat(fd, &fake)) { FILL_STAT(info, fake); return 0; }
    return REAL(fstat64_fn, fstat64)(fd, info);
}

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *info) {
    struct fake_stat fake;
    if (given(info) && given(path) && (*path ? fake_path_stat(dirfd, path, &fake)
                                             : ((flags & AT_EMPTY_PATH) && fake_fd_stat(dirfd, &fake)))) {
        memset(info, 0, sizeof *info);
        info->stx_mask = STATX_BASIC_STATS;
        info->stx_mode = (uint16_t)fake.mode;
        info->stx_nlink = 1;
        info->stx_uid = getuid();
        info->stx_gid = getgid();
        info->stx_blksize = 4096;
        info->stx_size = (uint64_t)fake.size;
        info->stx_rdev_major = major(fake.rdev);
        info->stx_rdev_minor = minor(fake.rdev);
        return 0;
    }
    return REAL(statx_fn, statx)(dirfd, path, flags, mask, info);
}

static int fake_access(int dirfd, const char *path, int mode) {
    struct fake_stat fake;
    if (!fake_path_stat(dirfd, path, &fake)) return -2;
    if ((mode & X_OK) && !S_ISDIR(fake.mode)) { errno = EACCES; return -1; }
    return 0;
}

int access(const char *path, int mode) {
    int faked = fake_access(AT_FDCWD, path, mode);
    return faked != -2 ? faked : REAL(access_fn, access)(path, mode);
}

int faccessat(int dirfd, const char *path, int mode, int flags) {
    int faked = fake_access(dirfd, path, mode);
    return faked != -2 ? faked : REAL(faccessat_fn, faccessat)(dirfd, path, mode, flags);
}

/* ---- faked entries in a readdir of their directories ------------------------------------ */

#define SHIM_DIR_NAMES 3
struct shim_dir {
    DIR *dir;          /* NULL: free */
    int hide_real;     /* the directory does not exist here: only the faked entries show */
    int count, next;   /* faked names, and the next one to return after the real entries */
    char names[SHIM_DIR_NAMES][32];
    struct dirent entry;
    struct dirent64 entry64;
};
static struct shim_dir shim_dirs[SHIM_MAX_DIRS];

/* The entries faked in `path`; their count. */
static int faked_names(const char *path, char names[SHIM_DIR_NAMES][32]) {
    char dir[256];
    const char *name;
    const struct sensehat_paths *p = sensehat_paths();
    int count = 0;
    if (device_split(dir, sizeof dir, &name) && strcmp(path, dir) == 0) snprintf(names[count++], 32, "%s", name);
    if (p) {
        if (strcmp(path, "/dev") == 0) snprintf(names[count++], 32, "fb%u", p->fb_index);
        if (strcmp(path, "/dev/input") == 0 || strcmp(path, "/sys/class/input") == 0)
            snprintf(names[count++], 32, "event%u", p->js_index);
        if (strcmp(path, "/sys/class/graphics") == 0) snprintf(names[count++], 32, "fb%u", p->fb_index);
    }
    return count;
}

DIR *opendir(const char *path) {
    char names[SHIM_DIR_NAMES][32];
    int count, hide = 0;
    DIR *stream = REAL(opendir_fn, opendir)(path);
    if (!given(path) || (count = faked_names(path, names)) == 0) return stream;
    if (!stream && errno == ENOENT) {
        /* A parent a container lacks (/dev/input): any real directory, its entries hidden. */
        stream = REAL(opendir_fn, opendir)("/");
        hide = 1;
    }
    if (!stream) return NULL;
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < SHIM_MAX_DIRS; i++) {
        if (!shim_dirs[i].dir) {
            memset(&shim_dirs[i], 0, sizeof shim_dirs[i]);
            shim_dirs[i].dir = stream;
            shim_dirs[i].hide_real = hide;
            shim_dirs[i].count = count;
            memcpy(shim_dirs[i].names, names, sizeof names);
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return stream;
}

static struct shim_dir *lookup_dir(DIR *stream) {
    struct shim_dir *found = NULL;
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < SHIM_MAX_DIRS; i++) {
        if (stream && shim_dirs[i].dir == stream) { found = &shim_dirs[i]; break; }
    }
    pthread_mutex_unlock(&table_lock);
    return found;
}

/* Whether a real entry is shown; a faked name the directory really holds is not faked again. */
static int show_real(struct shim_dir *d, const char *real_name) {
    if (d->hide_real) return strcmp(real_name, ".") == 0 || strcmp(real_name, "..") == 0;
    for (int i = 0; i < d->count; i++) {
        if (strcmp(real_name, d->names[i]) == 0) d->names[i][0] = 0;
    }
    return 1;
}

/* The next faked name once the real entries are done, or NULL. */
static const char *next_faked(struct shim_dir *d) {
    while (d->next < d->count) {
        const char *name = d->names[d->next++];
        if (name[0]) return name;
    }
    return NULL;
}

#define READDIR_BODY(type, real_fn, field)                                                     \
    struct shim_dir *d = lookup_dir(stream);                                                   \
    type *entry;                                                                               \
    const char *name;                                                                          \
    if (!d) return REAL(real_fn##_fn, real_fn)(stream);                                        \
    while ((entry = REAL(real_fn##_fn, real_fn)(stream)) != NULL) {                            \
        if (show_real(d, entry->d_name)) return entry;                                         \
    }                                                                                          \
    if (!(name = next_faked(d))) return NULL;                                                  \
    memset(&d->field, 0, sizeof d->field);                                                     \
    d->field.d_ino = 1;                                                                        \
    d->field.d_type = DT_CHR;                                                                  \
    d->field.d_reclen = sizeof d->field;                                                       \
    snprintf(d->field.d_name, sizeof d->field.d_name, "%s", name);                             \
    return &d->field

struct dirent *readdir(DIR *stream) {
    READDIR_BODY(struct dirent, readdir, entry);
}

struct dirent64 *readdir64(DIR *stream) {
    READDIR_BODY(struct dirent64, readdir64, entry64);
}

int closedir(DIR *stream) {
    struct shim_dir *d = lookup_dir(stream);
    if (d) {
        pthread_mutex_lock(&table_lock);
        d->dir = NULL;
        pthread_mutex_unlock(&table_lock);
    }
    return REAL(closedir_fn, closedir)(stream);
}

/* scandir(3) runs on glibc's internal directory calls, out of this library's reach, so a
 * directory with faked entries is scanned here, through the readdir above: the program's
 * filter and comparison (versionsort, alphasort) apply to the faked entries too. */
#define SCANDIR_BODY(type, readdir_fn, real_fn)                                                \
    char names[SHIM_DIR_NAMES][32];                                                            \
    DIR *stream;                                                                               \
    type *entry, **list = NULL;                                                                \
    size_t count = 0, capacity = 0;                                                            \
    if (!given(path) || !given(namelist) || faked_names(path, names) == 0)                     \
        return REAL(real_fn##_fn, real_fn)(path, namelist, filter, compar);                    \
    if (!(stream = opendir(path))) return -1;                                                  \
    while ((entry = readdir_fn(stream)) != NULL) {                                             \
        type *copy;                                                                            \
        if (filter && !filter(entry)) continue;                                                \
        if (count == capacity) {                                                               \
            type **grown = realloc(list, (capacity = capacity ? capacity * 2 : 16) * sizeof *list); \
            if (!grown) goto fail;                                                             \
            list = grown;                                                                      \
        }                                                                                      \
        if (!(copy = malloc(sizeof *copy))) goto fail;                                         \
        memcpy(copy, entry, sizeof *copy);                                                     \
        list[count++] = copy;                                                                  \
    }                                                                                          \
    closedir(stream);                                                                          \
    if (compar && count > 1)                                                                   \
        qsort(list, count, sizeof *list, (int (*)(const void *, const void *))compar);         \
    *namelist = list;                                                                          \
    return (int)count;                                                                         \
fail:                                                                                          \
    while (count > 0) free(list[--count]);                                                     \
    free(list);                                                                                \
    closedir(stream);                                                                          \
    errno = ENOMEM;                                                                            \
    return -1

int scandir(const char *path, struct dirent ***namelist, int (*filter)(const struct dirent *),
            int (*compar)(const struct dirent **, const struct dirent **)) {
    SCANDIR_BODY(struct dirent, readdir, scandir);
}

int scandir64(const char *path, struct dirent64 ***namelist, int (*filter)(const struct dirent64 *),
              int (*compar)(const struct dirent64 **, const struct dirent64 **)) {
    SCANDIR_BODY(struct dirent64, readdir64, scandir64);
}

