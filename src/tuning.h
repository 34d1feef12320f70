/* tuning.h — per-device CLBlast parameters: loaded at device open, applied with
   CLBlastOverrideParameters, so GEMM runs with parameters tuned for this device and driver. */
#ifndef CLT_TUNING_H
#define CLT_TUNING_H

struct clt_device;

/* Applies the stored tuning for the device, if any; a device without an entry keeps CLBlast's
   defaults. Returns -1 only for a tuning file that exists but cannot be used. */
int clt_tuning_apply(struct clt_device *d);

#endif
