/* interop.h — nets in and out of other tools: a trained Caffe CaffeNet into a checkpoint
   (caffe_import.c) and a checkpoint out as an ONNX model (onnx_export.c). */
#ifndef CLT_INTEROP_H
#define CLT_INTEROP_H

#include <stddef.h>
#include <stdint.h>

#include "net/checkpoint.h"
#include "net/net.h"

/* Maps a Caffe NetParameter (binary protobuf, `layer` or V1 `layers` form) onto CaffeNet: *arch is
   the net the model declares over the defaults of arch_name ("caffenet" or "small"), *params its
   weights in clt_arch_layers' layout (conv1's input channels turned from BGR to RGB). 0, or -1 with
   an error naming `path` and the layer. */
int clt_caffe_map(const uint8_t *bytes, size_t len, const char *path, const char *arch_name, clt_arch *arch,
                  float **params);
/* A Caffe mean image (BlobProto, [1][c][h][w] BGR) as the checkpoint's "mean" blob [c][h][w] RGB;
   it must have the net's channels and at least its input side. */
int clt_caffe_mean(const uint8_t *bytes, size_t len, const char *path, const clt_arch *arch, clt_ckpt_blob *mean);
/* The whole import: model (and mean, when not NULL) to a checkpoint written atomically. */
int clt_caffe_import(const char *model_path, const char *mean_path, const char *arch_name, const char *out_path);

typedef struct clt_onnx_options {
    int fold_mean; /* subtract the checkpoint's mean inside the model (centre crop), so input is raw pixels */
    float scale;   /* multiply after the mean, as [data] scale does */
} clt_onnx_options;
/* Writes the checkpoint's net as an ONNX model (opset 13) at out_path, atomically. */
int clt_onnx_export(const char *ckpt_path, const char *out_path, const clt_onnx_options *o);

/* The subcommands; argv[0] is the subcommand's name. Return the exit status. */
int clt_import_caffe_main(int argc, char **argv);
int clt_export_onnx_main(int argc, char **argv);

#endif
