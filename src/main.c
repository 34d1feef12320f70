/* main.c — the cltransfer command line: device listing and selection (training, studies and
   reports are added by their modules). main decides the exit code. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: cltransfer --list-devices\n"
            "       cltransfer [--device SEL] --check-device\n"
            "\n"
            "  --list-devices     print every OpenCL platform and device with its index\n"
            "  --device SEL       device index or case-insensitive substring of its name\n"
            "                     (default: the first GPU, else the first device)\n"
            "  --check-device     open the device and build the kernels, then exit\n"
            "  -h, --help         this help\n");
}

int main(int argc, char **argv) {
    clt_set_progname(argv[0]);
    static const struct option opts[] = {{"list-devices", no_argument, 0, 'L'},
                                         {"device", required_argument, 0, 'd'},
                                         {"check-device", no_argument, 0, 'C'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *device = NULL;
    int list = 0, check = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'L': list = 1; break;
        case 'd': device = optarg; break;
        case 'C': check = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (list) return clt_list_devices(stdout) == 0 ? 0 : 1;
    if (check) {
        clt_device d;
        if (clt_device_open(&d, device) != 0) return 1;
        printf("device [%d] %s: kernels from %s built\n", d.index, d.name, d.kernel_dir);
        clt_device_close(&d);
        return 0;
    }
    usage(stderr);
    return 2;
}
