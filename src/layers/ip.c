/* ip.c — inner product (fully connected) on [images][features], three CLBlast SGEMMs and two small kernels. */
#include "device/gemm.h"
#include "layers/layers.h"

void clt_ip_forward(clt_device *d, const clt_ip *l, int n, clt_view out, clt_view in, clt_view weight, clt_view bias) {
    size_t count = (size_t)n * l->out;
    if (bias.mem)
        CLT_LAUNCH_1D(d, "ip_bias_fill", count, CLT_INT(count), CLT_INT(l->out), CLT_VIEW(out), CLT_VIEW(bias));
    clt_gemm(d, false, true, n, l->out, l->in, 1.0f, in, l->in, weight, l->in, bias.mem ? 1.0f : 0.0f, out, l->out,
             "ip forward");
}

void clt_ip_backward(clt_device *d, const clt_ip *l, int n, clt_view din, clt_view dweight, clt_view dbias,
                     clt_view dout, clt_view in, clt_view weight) {
    if (dweight.mem)
        clt_gemm(d, true, false, l->out, l->in, n, 1.0f, dout, l->out, in, l->in, 0.0f, dweight, l->in,
                 "ip backward dweight");
    if (dbias.mem)
        CLT_LAUNCH_1D(d, "ip_bias_grad", l->out, CLT_INT(n), CLT_INT(l->out), CLT_VIEW(dbias), CLT_VIEW(dout));
    if (din.mem)
        clt_gemm(d, false, false, n, l->in, l->out, 1.0f, dout, l->out, weight, l->in, 0.0f, din, l->in,
                 "ip backward din");
}
