#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>
#include <i2c/smbus.h>

/* ioctl(2) is variadic, and Swift does not import variadic C functions. These typed
 * wrappers give Swift the two i2c-dev requests the Linux backend needs. They call the
 * dynamic ioctl symbol, so an LD_PRELOAD stand-in for /dev/i2c-N sees them too. */

/* One combined transfer: returns the number of messages done, or -1 with errno set. */
static inline int hubrig_i2c_rdwr(int fd, struct i2c_rdwr_ioctl_data *data) {
    return ioctl(fd, I2C_RDWR, data);
}

/* The adapter's functionality mask (I2C_FUNC_*): 0, or -1 with errno set. */
static inline int hubrig_i2c_funcs(int fd, unsigned long *funcs) {
    return ioctl(fd, I2C_FUNCS, funcs);
}
