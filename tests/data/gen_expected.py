# gen_expected.py — regenerates the NumPy-derived expected files of test_split (run with /usr/bin/python3).
# The test itself never runs Python: these files are committed.
import numpy as np

def write(name, values):
    with open(name, "w") as f:
        f.write("".join("%d\n" % v for v in values))

for k in (1000, 10):
    for s in range(4):
        np.random.seed([s])
        a = sorted(int(v) for v in np.random.choice(np.arange(k), k // 2, replace=False))
        b = sorted(set(range(k)) - set(a))
        write("split_random_k%d_seed%d_A.txt" % (k, s), a)
        write("split_random_k%d_seed%d_B.txt" % (k, s), b)

# Reduced datasets: per class c, seed([S, c]), keep sorted(permutation(n_c)[:N]) of the class's examples
# in input order. Class sizes 20, 7, 13, 1300 (labels 0..3); N = 5 and 250, seed 7; the output is
# the kept example positions within each class, one "class position" pair a line.
sizes = [20, 7, 13, 1300]
for n_keep in (5, 250):
    out = []
    for c, n in enumerate(sizes):
        if n <= n_keep:
            keep = list(range(n))
        else:
            np.random.seed([7, c])
            keep = sorted(int(v) for v in np.random.permutation(n)[:n_keep])
        out += ["%d %d" % (c, k) for k in keep]
    with open("per_class_seed7_n%d.txt" % n_keep, "w") as f:
        f.write("".join(line + "\n" for line in out))
