/* open.c — a device ready for training: the OpenCL side (device.c), then the CLBlast parameters the
   tuning database holds for it (tuning.c). Kept apart so that device.c needs nothing above it. */
#include "device/device.h"
#include "device/tuning.h"

int clt_device_open(clt_device *d, const char *selector) {
    if (clt_device_open_bare(d, selector) != 0) return -1;
    if (clt_tuning_apply(d) != 0) {
        clt_device_close(d);
        return -1;
    }
    return 0;
}
