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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>

#define SHIM_MAX_FDS 64
#define SHIM_MAX_MSGS I2C_RDWR_IOCTL_MAX_MSGS
#define SHIM_MAX_LEN 8192
#define I2C_DEV_MAJOR 89
/* The flags a client remembers and puts on its SMBus and read()/write() messages. */
#define SHIM_CLIENT_PEC 0x04 /* I2C_CLIENT_PEC in the kernel */

/* One descriptor this shim created: its own connection and its i2c-dev client state. */
struct shim_fd {
    int fd;            /* the socket, which is the descriptor the program holds; -1: free */
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

/* A readdir of /dev this shim answers: the real stream, plus one made-up entry. */
#define SHIM_MAX_DIRS 8
struct shim_dir {
    DIR *dir;          /* NULL: free */
    int state;         /* 0 real entries, 1 the device's entry is next, 2 done */
    int listed;        /* the real directory already holds the name */
    struct dirent entry;
    struct dirent64 entry64;
};
static struct shim_dir shim_dirs[SHIM_MAX_DIRS];

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
    *real_closedir_p;

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

static int remember_fd(int fd) {
    int stored = 0;
    pthread_mutex_lock(&table_lock);
    table_init_locked();
    for (int i = 0; i < SHIM_MAX_FDS; i++) {
        if (shim_fds[i].fd < 0) {
            shim_fds[i].fd = fd;
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

static void forget_fd(int fd) {
    if (fd < 0) return;
    pthread_mutex_lock(&table_lock);
    table_init_locked();
    for (int i = 0; i < SHIM_MAX_FDS; i++) {
        if (shim_fds[i].fd == fd) {
            shim_fds[i].fd = -1;
            __atomic_sub_fetch(&faked_count, 1, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&table_lock);
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
        REAL(close_fn, close)(fd);
        errno = saved;
        return -1;
    }
    if (!remember_fd(fd)) {
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
    if (is_device(AT_FDCWD, path)) return connect_server(flags);
    return REAL(open_fn, open)(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (is_device(AT_FDCWD, path)) return connect_server(flags);
    return REAL(open_fn, open64)(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (is_device(dirfd, path)) return connect_server(flags);
    return REAL(openat_fn, openat)(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (is_device(dirfd, path)) return connect_server(flags);
    return REAL(openat_fn, openat64)(dirfd, path, flags, mode);
}

int close(int fd) {
    forget_fd(fd);
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

/* ---- ioctl --------------------------------------------------------------------------- */

int ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    void *arg;
    unsigned long value;
    struct shim_fd *s;
    va_start(ap, request);
    arg = va_arg(ap, void *); /* every ioctl takes at most one pointer-sized argument */
    va_end(ap);

    s = lookup(fd);
    if (!s) return REAL(ioctl_fn, ioctl)(fd, request, arg);

    value = (unsigned long)arg;
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

ssize_t read(int fd, void *buf, size_t count) {
    struct shim_fd *s = lookup(fd);
    if (!s) return REAL(read_fn, read)(fd, buf, count);
    return plain_transfer(s, buf, count, 1);
}

ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen) {
    struct shim_fd *s = lookup(fd);
    if (!s) return REAL(read_chk_fn, __read_chk)(fd, buf, count, buflen);
    if (count > buflen) abort(); /* what the fortified C library does: a buffer overflow */
    return plain_transfer(s, buf, count, 1);
}

ssize_t write(int fd, const void *buf, size_t count) {
    struct shim_fd *s = lookup(fd);
    if (!s) return REAL(write_fn, write)(fd, buf, count);
    return plain_transfer(s, (void *)buf, count, 0);
}

/* ---- the path as a character device ---------------------------------------------------- */

/* The C library declares these pointers nonnull, but a program may still pass NULL (the
 * kernel answers EFAULT): tested through a function the compiler does not see through. */
__attribute__((noinline)) static int given(const void *pointer) {
    return pointer != NULL;
}

static void fill_stat(struct stat *info) {
    memset(info, 0, sizeof *info);
    info->st_mode = S_IFCHR | 0660;
    info->st_rdev = makedev(I2C_DEV_MAJOR, device_minor());
    info->st_nlink = 1;
    info->st_uid = getuid();
    info->st_gid = getgid();
    info->st_blksize = 4096;
}

static void fill_stat64(struct stat64 *info) {
    memset(info, 0, sizeof *info);
    info->st_mode = S_IFCHR | 0660;
    info->st_rdev = makedev(I2C_DEV_MAJOR, device_minor());
    info->st_nlink = 1;
    info->st_uid = getuid();
    info->st_gid = getgid();
    info->st_blksize = 4096;
}

int stat(const char *path, struct stat *info) {
    if (is_device(AT_FDCWD, path) && given(info)) { fill_stat(info); return 0; }
    return REAL(stat_fn, stat)(path, info);
}

int stat64(const char *path, struct stat64 *info) {
    if (is_device(AT_FDCWD, path) && given(info)) { fill_stat64(info); return 0; }
    return REAL(stat64_fn, stat64)(path, info);
}

int lstat(const char *path, struct stat *info) {
    if (is_device(AT_FDCWD, path) && given(info)) { fill_stat(info); return 0; }
    return REAL(stat_fn, lstat)(path, info);
}

int lstat64(const char *path, struct stat64 *info) {
    if (is_device(AT_FDCWD, path) && given(info)) { fill_stat64(info); return 0; }
    return REAL(stat64_fn, lstat64)(path, info);
}

int fstatat(int dirfd, const char *path, struct stat *info, int flags) {
    if (is_device(dirfd, path) && given(info)) { fill_stat(info); return 0; }
    return REAL(fstatat_fn, fstatat)(dirfd, path, info, flags);
}

int fstatat64(int dirfd, const char *path, struct stat64 *info, int flags) {
    if (is_device(dirfd, path) && given(info)) { fill_stat64(info); return 0; }
    return REAL(fstatat64_fn, fstatat64)(dirfd, path, info, flags);
}

int fstat(int fd, struct stat *info) {
    if (lookup(fd) && given(info)) { fill_stat(info); return 0; }
    return REAL(fstat_fn, fstat)(fd, info);
}

int fstat64(int fd, struct stat64 *info) {
    if (lookup(fd) && given(info)) { fill_stat64(info); return 0; }
    return REAL(fstat64_fn, fstat64)(fd, info);
}

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *info) {
    if (given(info) && given(path) &&
        (is_device(dirfd, path) || (!*path && (flags & AT_EMPTY_PATH) && lookup(dirfd)))) {
        memset(info, 0, sizeof *info);
        info->stx_mask = STATX_BASIC_STATS;
        info->stx_mode = S_IFCHR | 0660;
        info->stx_nlink = 1;
        info->stx_uid = getuid();
        info->stx_gid = getgid();
        info->stx_blksize = 4096;
        info->stx_rdev_major = I2C_DEV_MAJOR;
        info->stx_rdev_minor = device_minor();
        return 0;
    }
    return REAL(statx_fn, statx)(dirfd, path, flags, mask, info);
}

int access(const char *path, int mode) {
    if (is_device(AT_FDCWD, path)) return (mode & X_OK) ? (errno = EACCES, -1) : 0;
    return REAL(access_fn, access)(path, mode);
}

int faccessat(int dirfd, const char *path, int mode, int flags) {
    if (is_device(dirfd, path)) return (mode & X_OK) ? (errno = EACCES, -1) : 0;
    return REAL(faccessat_fn, faccessat)(dirfd, path, mode, flags);
}

/* ---- the device's entry in a readdir of its directory ---------------------------------- */

DIR *opendir(const char *path) {
    char dir[256];
    const char *name;
    DIR *stream = REAL(opendir_fn, opendir)(path);
    if (!stream || !given(path) || !device_split(dir, sizeof dir, &name) || strcmp(path, dir) != 0) return stream;
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < SHIM_MAX_DIRS; i++) {
        if (!shim_dirs[i].dir) {
            memset(&shim_dirs[i], 0, sizeof shim_dirs[i]);
            shim_dirs[i].dir = stream;
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

/* After the real entries, once, the device's own (unless the directory really holds it). */
static const char *next_made_up(struct shim_dir *d, const char *real_name) {
    char dir[256];
    const char *name;
    if (!device_split(dir, sizeof dir, &name)) return NULL;
    if (real_name) {
        if (strcmp(real_name, name) == 0) d->listed = 1;
        return NULL;
    }
    if (d->state != 0 || d->listed) { d->state = 2; return NULL; }
    d->state = 2;
    return name;
}

struct dirent *readdir(DIR *stream) {
    struct shim_dir *d = lookup_dir(stream);
    struct dirent *entry = REAL(readdir_fn, readdir)(stream);
    const char *name;
    if (!d) return entry;
    name = next_made_up(d, entry ? entry->d_name : NULL);
    if (entry || !name) return entry;
    memset(&d->entry, 0, sizeof d->entry);
    d->entry.d_ino = 1;
    d->entry.d_type = DT_CHR;
    d->entry.d_reclen = sizeof d->entry;
    strncpy(d->entry.d_name, name, sizeof d->entry.d_name - 1);
    return &d->entry;
}

struct dirent64 *readdir64(DIR *stream) {
    struct shim_dir *d = lookup_dir(stream);
    struct dirent64 *entry = REAL(readdir64_fn, readdir64)(stream);
    const char *name;
    if (!d) return entry;
    name = next_made_up(d, entry ? entry->d_name : NULL);
    if (entry || !name) return entry;
    memset(&d->entry64, 0, sizeof d->entry64);
    d->entry64.d_ino = 1;
    d->entry64.d_type = DT_CHR;
    d->entry64.d_reclen = sizeof d->entry64;
    strncpy(d->entry64.d_name, name, sizeof d->entry64.d_name - 1);
    return &d->entry64;
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
