/* tuning.c — per-device CLBlast tuning parameters (placeholder until the tuning database lands). */
#include "tuning.h"

#include "device.h"

int clt_tuning_apply(struct clt_device *d) {
    (void)d;
    return 0;
}
