/* onnx_export.c — `cltransfer export-onnx`: a checkpoint's net as an ONNX model (opset 13) for
   inference: optional mean subtraction and scale, grouped Conv, Relu, MaxPool with Caffe's rounded-up
   sizes, LRN, Flatten in Caffe's order, Gemm, and Softmax, with the logits as a second output. */
#include "interop/interop.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "interop/onnx.pb-c.h"
#include "util/util.h"

#define ONNX_OPSET 13
#define ONNX_IR_VERSION 7 /* the IR of opset 13's release (ONNX 1.8) */

/* Everything the model's messages point to, freed together once the file is written. */
typedef struct exporter {
    void **allocs;
    size_t n_allocs;
    Onnx__NodeProto **nodes;
    size_t n_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits;
} exporter;

static void *keep(exporter *e, size_t bytes) {
    void *p = clt_calloc(1, bytes);
    e->allocs = clt_realloc(e->allocs, (e->n_allocs + 1) * sizeof *e->allocs);
    e->allocs[e->n_allocs++] = p;
    return p;
}

static char *keep_str(exporter *e, const char *s) {
    char *p = keep(e, strlen(s) + 1);
    memcpy(p, s, strlen(s));
    return p;
}

static void release(exporter *e) {
    for (size_t i = 0; i < e->n_allocs; i++) free(e->allocs[i]);
    free(e->allocs), free(e->nodes), free(e->inits);
    memset(e, 0, sizeof *e);
}

/* An initializer of float32 values (not copied: `data` must outlive the export). */
static void initializer(exporter *e, const char *name, int ndims, const int64_t *dims, const float *data, size_t count) {
    Onnx__TensorProto *t = keep(e, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = keep_str(e, name);
    t->n_dims = (size_t)ndims;
    t->dims = keep(e, (ndims ? ndims : 1) * sizeof(int64_t));
    if (ndims) memcpy(t->dims, dims, ndims * sizeof(int64_t)); /* a scalar has no dims */
    t->has_data_type = 1, t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    /* raw_data is little-endian IEEE 754, as floats are in memory here (checkpoints assume it too) */
    t->has_raw_data = 1;
    t->raw_data.len = count * sizeof(float);
    t->raw_data.data = (uint8_t *)data;
    e->inits = clt_realloc(e->inits, (e->n_inits + 1) * sizeof *e->inits);
    e->inits[e->n_inits++] = t;
}

static Onnx__NodeProto *node(exporter *e, const char *op, const char *output, const char *in0, const char *in1,
                             const char *in2) {
    Onnx__NodeProto *n = keep(e, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = keep_str(e, op);
    n->name = keep_str(e, output);
    n->n_output = 1;
    n->output = keep(e, sizeof(char *));
    n->output[0] = keep_str(e, output);
    const char *ins[3] = {in0, in1, in2};
    n->input = keep(e, 3 * sizeof(char *));
    for (int i = 0; i < 3 && ins[i]; i++) n->input[n->n_input++] = keep_str(e, ins[i]);
    e->nodes = clt_realloc(e->nodes, (e->n_nodes + 1) * sizeof *e->nodes);
    e->nodes[e->n_nodes++] = n;
    return n;
}

static Onnx__AttributeProto *attribute(exporter *e, Onnx__NodeProto *n, const char *name,
                                       Onnx__AttributeProto__AttributeType type) {
    Onnx__AttributeProto *a = keep(e, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = keep_str(e, name);
    a->has_type = 1, a->type = type;
    Onnx__AttributeProto **grown = keep(e, (n->n_attribute + 1) * sizeof *grown);
    if (n->n_attribute) memcpy(grown, n->attribute, n->n_attribute * sizeof *grown);
    grown[n->n_attribute++] = a;
    n->attribute = grown;
    return a;
}

static void attr_int(exporter *e, Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = attribute(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1, a->i = v;
}

static void attr_float(exporter *e, Onnx__NodeProto *n, const char *name, float v) {
    Onnx__AttributeProto *a = attribute(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1, a->f = v;
}

/* An INTS attribute holding `v` `count` times (kernel_shape, strides, pads of square layers). */
static void attr_ints(exporter *e, Onnx__NodeProto *n, const char *name, int64_t v, int count) {
    Onnx__AttributeProto *a = attribute(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)count;
    a->ints = keep(e, count * sizeof(int64_t));
    for (int i = 0; i < count; i++) a->ints[i] = v;
}

/* A float tensor graph input or output [batch, dims...], the first dimension symbolic. */
static Onnx__ValueInfoProto *value_info(exporter *e, const char *name, const int *dims, int ndims, const char *doc) {
    Onnx__ValueInfoProto *v = keep(e, sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = keep_str(e, name);
    v->doc_string = keep_str(e, doc);
    Onnx__TypeProto *t = keep(e, sizeof *t);
    onnx__type_proto__init(t);
    Onnx__TypeProto__Tensor *tt = keep(e, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1, tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    Onnx__TensorShapeProto *s = keep(e, sizeof *s);
    onnx__tensor_shape_proto__init(s);
    s->n_dim = (size_t)ndims + 1;
    s->dim = keep(e, s->n_dim * sizeof *s->dim);
    for (size_t i = 0; i < s->n_dim; i++) {
        Onnx__TensorShapeProto__Dimension *d = keep(e, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (i == 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = keep_str(e, "batch");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i - 1];
        }
        s->dim[i] = d;
    }
    tt->shape = s;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->type = t;
    return v;
}

static Onnx__StringStringEntryProto *meta(exporter *e, const char *key, const char *value) {
    Onnx__StringStringEntryProto *m = keep(e, sizeof *m);
    onnx__string_string_entry_proto__init(m);
    m->key = keep_str(e, key);
    m->value = keep_str(e, value);
    return m;
}

/* Streams the packed model into the atomic file, so the weights are never copied into one buffer. */
typedef struct file_buffer {
    ProtobufCBuffer base;
    clt_atomic_file *f;
} file_buffer;

static void file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data) {
    clt_atomic_write(((file_buffer *)b)->f, data, len);
}

/* The checkpoint's blob `name`, which must have the shape the net gives it. */
static const clt_ckpt_blob *weights(const clt_checkpoint *ck, const char *path, const char *name, int ndims,
                                    const int *dims) {
    const clt_ckpt_blob *b = clt_checkpoint_find(ck, name);
    if (!b) {
        clt_error("%s: checkpoint has no blob %s", path, name);
        return NULL;
    }
    if (b->ndims != ndims || memcmp(b->dims, dims, ndims * sizeof(int)) != 0) {
        char got[64] = "", want[64] = "";
        for (int i = 0; i < b->ndims; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%d", i ? "x" : "", b->dims[i]);
        for (int i = 0; i < ndims; i++) snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", i ? "x" : "", dims[i]);
        clt_error("%s: blob %s is %s, but the net its header declares needs %s", path, name, got, want);
        return NULL;
    }
    return b;
}

static int build_graph(exporter *e, const clt_checkpoint *ck, const char *path, const clt_onnx_options *o,
                       float **mean_crop, const char **doc) {
    const clt_arch *a = &ck->arch;
    clt_layer_params table[CLT_LAYERS + 1];
    size_t count;
    if (clt_arch_layers(a, table, &count) != 0) {
        clt_error("%s: the checkpoint's net definition is not one cltransfer builds", path);
        return -1;
    }
    const char *x = "image";
    const clt_ckpt_blob *mean = clt_checkpoint_find(ck, "mean");
    *doc = "input: float [batch, C, H, W], planar, mean-subtracted and scaled as in training";
    if (o->fold_mean && mean) {
        if (mean->ndims != 3 || mean->dims[0] != a->in_c || mean->dims[1] < a->in_h || mean->dims[2] < a->in_w) {
            clt_error("%s: the mean blob is not %d channels of at least %d×%d", path, a->in_c, a->in_h, a->in_w);
            return -1;
        }
        /* the validation reader's centre crop of the stored image, and so of its mean */
        int H = mean->dims[1], W = mean->dims[2], y0 = (H - a->in_h) / 2, x0 = (W - a->in_w) / 2;
        *mean_crop = clt_malloc((size_t)a->in_c * a->in_h * a->in_w * sizeof(float));
        for (int c = 0; c < a->in_c; c++)
            for (int y = 0; y < a->in_h; y++)
                memcpy(*mean_crop + ((size_t)c * a->in_h + y) * a->in_w,
                       mean->data + ((size_t)c * H + y0 + y) * W + x0, a->in_w * sizeof(float));
        int64_t dims[4] = {1, a->in_c, a->in_h, a->in_w};
        initializer(e, "mean", 4, dims, *mean_crop, (size_t)a->in_c * a->in_h * a->in_w);
        node(e, "Sub", "centred", x, "mean", NULL);
        x = "centred";
        *doc = "input: float [batch, C, H, W], planar, 0..255 pixels of the centre crop (RGB for 3 channels); "
               "the mean is subtracted inside";
    }
    if (o->fold_mean && !mean)
        clt_warn("%s holds no mean image: the model takes mean-subtracted input (as with --no-mean)", path);
    if (o->scale != 1.0f) {
        float *scale = keep(e, sizeof *scale);
        *scale = o->scale;
        initializer(e, "input_scale", 0, NULL, scale, 1);
        node(e, "Mul", "scaled", x, "input_scale", NULL);
        x = "scaled";
    }
    for (int l = 1; l <= CLT_LAYERS; l++) {
        const clt_layer_params *L = &table[l];
        char wname[64], bname[64];
        snprintf(wname, sizeof wname, "%s.weight", L->name);
        snprintf(bname, sizeof bname, "%s.bias", L->name);
        int bdims[1] = {(int)L->b_count};
        const clt_ckpt_blob *w = weights(ck, path, wname, 4, L->dims), *b = weights(ck, path, bname, 1, bdims);
        if (!w || !b) return -1;
        int64_t wd[4] = {L->dims[0], L->dims[1], L->dims[2], L->dims[3]}, bd[1] = {(int64_t)L->b_count};
        initializer(e, wname, l <= 5 ? 4 : 2, wd, w->data, w->count);
        initializer(e, bname, 1, bd, b->data, b->count);
        if (l == 6) {
            /* [n][c][h][w] flattened row-major: Caffe's order, the order fc6's weights index */
            attr_int(e, node(e, "Flatten", "flatten", x, NULL, NULL), "axis", 1);
            x = "flatten";
        }
        if (l <= 5) {
            const clt_conv_spec *s = &a->conv[l - 1];
            Onnx__NodeProto *n = node(e, "Conv", L->name, x, wname, bname);
            attr_ints(e, n, "kernel_shape", s->k, 2);
            attr_ints(e, n, "strides", s->stride, 2);
            attr_ints(e, n, "pads", s->pad, 4);
            attr_ints(e, n, "dilations", 1, 2);
            attr_int(e, n, "group", s->group);
        } else {
            attr_int(e, node(e, "Gemm", l == 8 ? "logits" : L->name, x, wname, bname), "transB", 1);
        }
        x = l == 8 ? "logits" : L->name;
        if (l == 8) break;
        char relu[16];
        snprintf(relu, sizeof relu, "relu%d", l);
        node(e, "Relu", relu, x, NULL, NULL);
        x = e->nodes[e->n_nodes - 1]->output[0];
        if (l == 1 || l == 2 || l == 5) {
            char pool[16];
            snprintf(pool, sizeof pool, "pool%d", l);
            Onnx__NodeProto *n = node(e, "MaxPool", pool, x, NULL, NULL);
            attr_ints(e, n, "kernel_shape", a->pool_k, 2);
            attr_ints(e, n, "strides", a->pool_stride, 2);
            attr_int(e, n, "ceil_mode", 1); /* Caffe rounds the output side up */
            x = n->output[0];
        }
        if (l == 1 || l == 2) {
            char norm[16];
            snprintf(norm, sizeof norm, "norm%d", l);
            /* ONNX and Caffe both divide alpha by size: x / (bias + alpha/size · Σx²)^beta */
            Onnx__NodeProto *n = node(e, "LRN", norm, x, NULL, NULL);
            attr_int(e, n, "size", a->lrn_size);
            attr_float(e, n, "alpha", a->lrn_alpha);
            attr_float(e, n, "beta", a->lrn_beta);
            attr_float(e, n, "bias", a->lrn_k);
            x = n->output[0];
        }
    }
    attr_int(e, node(e, "Softmax", "prob", "logits", NULL, NULL), "axis", 1);
    return 0;
}

int clt_onnx_export(const char *ckpt_path, const char *out_path, const clt_onnx_options *o) {
    clt_checkpoint ck;
    if (clt_checkpoint_load(&ck, ckpt_path) != 0) return -1;
    exporter e = {0};
    float *mean_crop = NULL;
    const char *input_doc;
    int rc = build_graph(&e, &ck, ckpt_path, o, &mean_crop, &input_doc);
    if (rc == 0) {
        const clt_arch *a = &ck.arch;
        Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
        graph.name = keep_str(&e, a->name);
        graph.n_node = e.n_nodes, graph.node = e.nodes;
        graph.n_initializer = e.n_inits, graph.initializer = e.inits;
        int in_dims[3] = {a->in_c, a->in_h, a->in_w}, out_dims[1] = {a->fc[2]};
        Onnx__ValueInfoProto *in = value_info(&e, "image", in_dims, 3, input_doc);
        Onnx__ValueInfoProto *outs[2] = {value_info(&e, "prob", out_dims, 1, "class probabilities (softmax)"),
                                         value_info(&e, "logits", out_dims, 1, "fc8's outputs before the softmax")};
        graph.n_input = 1, graph.input = &in;
        graph.n_output = 2, graph.output = outs;

        Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
        opset.domain = "";
        opset.has_version = 1, opset.version = ONNX_OPSET;
        Onnx__OperatorSetIdProto *opsets[1] = {&opset};
        char iter[32], input[64];
        snprintf(iter, sizeof iter, "%lld", (long long)ck.iter);
        snprintf(input, sizeof input, "%dx%dx%d", a->in_c, a->in_h, a->in_w);
        Onnx__StringStringEntryProto *props[4] = {meta(&e, "cltransfer.arch", a->name), meta(&e, "cltransfer.iter", iter),
                                                  meta(&e, "cltransfer.input", input),
                                                  meta(&e, "cltransfer.mean", o->fold_mean && mean_crop ? "subtracted inside" : "not subtracted inside")};
        Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
        model.has_ir_version = 1, model.ir_version = ONNX_IR_VERSION;
        model.n_opset_import = 1, model.opset_import = opsets;
        model.producer_name = "cltransfer";
        model.producer_version = "0.1";
        model.doc_string = (char *)input_doc;
        model.graph = &graph;
        model.n_metadata_props = 4, model.metadata_props = props;

        clt_atomic_file f;
        rc = clt_atomic_open(&f, out_path);
        if (rc == 0) {
            file_buffer buf = {{file_append}, &f};
            protobuf_c_message_pack_to_buffer(&model.base, &buf.base);
            rc = clt_atomic_commit(&f);
        }
    }
    release(&e);
    free(mean_crop);
    clt_checkpoint_free(&ck);
    return rc;
}

static void export_usage(FILE *out) {
    fprintf(out,
            "usage: cltransfer export-onnx CHECKPOINT -o NET.onnx [--no-mean] [--scale S]\n"
            "\n"
            "Writes the checkpoint's net as an ONNX model (opset %d, IR version %d) for inference in any ONNX\n"
            "runtime: [Sub mean] [Mul scale] conv1 (Conv) Relu MaxPool LRN, conv2 (grouped Conv) Relu MaxPool LRN,\n"
            "conv3..conv5 with Relu, MaxPool, Flatten, fc6 and fc7 (Gemm) with Relu, fc8 (Gemm) → outputs\n"
            "`logits`, and Softmax → `prob`. Dropout is the identity at inference and is left out; MaxPool\n"
            "uses ceil_mode=1 (Caffe's rounded-up sizes); LRN's alpha is Caffe's (both divide it by size).\n"
            "\n"
            "Input `image`: float [batch, C, H, W] (3x227x227 for CaffeNet), planar, RGB for 3 channels.\n"
            "With the checkpoint's mean (training runs and imports with --mean store one) the model\n"
            "subtracts its centre crop itself, so the input is the crop's 0..255 pixels, as cltransfer's\n"
            "validation reader takes them from a pack.\n"
            "\n"
            "  --no-mean       leave the mean out: the input is already mean-subtracted (and scaled)\n"
            "  --scale S       multiply the input by S after the mean, as the run's [data] scale [1]\n"
            "  -o, --output F  the model to write\n"
            "  -h, --help      this help\n"
            "\n"
            "Exit status: 0 written, 1 the checkpoint cannot be read, 2 bad command line.\n",
            ONNX_OPSET, ONNX_IR_VERSION);
}

int clt_export_onnx_main(int argc, char **argv) {
    static const struct option opts[] = {{"no-mean", no_argument, 0, 'n'},
                                         {"scale", required_argument, 0, 's'},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    clt_onnx_options o = {.fold_mean = 1, .scale = 1.0f};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'n': o.fold_mean = 0; break;
        case 's':
            o.scale = strtof(optarg, &end);
            if (*end || !(o.scale > 0 && o.scale < 1e6f)) {
                clt_error("--scale %s: expected a positive number, e.g. 0.0125", optarg);
                return 2;
            }
            break;
        case 'o': out = optarg; break;
        case 'h': export_usage(stdout); return 0;
        default: export_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || !out) {
        clt_error("export-onnx needs one CHECKPOINT and -o NET.onnx (see cltransfer export-onnx --help)");
        return 2;
    }
    return clt_onnx_export(argv[optind], out, &o) == 0 ? 0 : 1;
}
