#!/usr/bin/env python3
"""CLaDMoP pre-training step in PyTorch (CPU), mirroring src/model/cladmop.ts, layers.ts and train/adam.ts.

Same shapes and layers as the TypeScript model: per-level grouping (Linear + LayerNorm projection, segment
embedding, G grouping layers of learnable centroids cross-attending over the criteria tokens, S self-attention
blocks after each), pre-LN blocks with multi-head attention written with matmuls and key masks, DM tokens
(molecule MLP, hashed drug-name n-gram and ICD-prefix embedding bags, unknown-molecule token, type embeddings),
DM self-attention, fusion of every level over all B^2 (criteria i, DM j) pairs with the keys/values of each
trial's grouped criteria projected once and broadcast, symmetric InfoNCE, AdamW with global-norm clipping and
weight decay on matrices only. The classifier head is part of the parameters (zero gradients in pre-training,
still decayed by AdamW, as in the TypeScript step). Parameter counts are printed for the mirror check.

Run by bench/torch.ts; standalone:
  python3 bench/torch_cladmop_step.py --batch 16 --criteria 512 --icd-vocab 24655 --repeats 10
Prints one JSON line on stdout; progress on stderr.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--criteria", type=int, default=512)
    ap.add_argument("--icd-vocab", type=int, default=24655)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--count-only", action="store_true")
    args = ap.parse_args()

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)

    # DEFAULT_CLADMOP with dEncoder 192 (src/model/cladmop.ts) and the data's ICD vocabulary.
    C = dict(dEncoder=192, dModel=64, nHeads=4, ffHidden=128, centroids=[100, 50, 25], selfAttention=2,
             levels=[0, 1, 2], dmLayers=2, moleculeInput=2048 + 11, moleculeHidden=256, nameBuckets=4096,
             icdVocab=args.icd_vocab, dJoint=64, headHidden=64, initLogitScale=0.6)
    # src/features/dm-features.ts
    MAX_MOLECULES, MAX_DRUGS, MAX_DISEASES, MAX_NGRAMS, MAX_ANCESTORS = 8, 8, 8, 32, 16
    d = C["dModel"]

    class Linear(nn.Module):
        # Weight stored [fanIn, fanOut] like layers.ts; N(0, 1/fanIn), zero bias.
        def __init__(self, fan_in, fan_out):
            super().__init__()
            self.w = nn.Parameter(torch.randn(fan_in, fan_out) / math.sqrt(fan_in))
            self.b = nn.Parameter(torch.zeros(fan_out))

        def forward(self, x):
            return torch.matmul(x, self.w) + self.b

    class LayerNorm(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.g = nn.Parameter(torch.ones(dim))
            self.b = nn.Parameter(torch.zeros(dim))

        def forward(self, x):
            return F.layer_norm(x, (x.shape[-1],), self.g, self.b, eps=1e-5)

    class Attention(nn.Module):
        def __init__(self, dq, dkv, dm):
            super().__init__()
            self.q, self.k, self.v, self.o = Linear(dq, dm), Linear(dkv, dm), Linear(dkv, dm), Linear(dm, dm)

    def attention_projected_kv(att, query, k, v, key_mask, n_heads):
        # layers.ts attentionProjectedKv: batched matmuls, key mask as a -1e9 fill, softmax.
        B, Lq = query.shape[0], query.shape[1]
        Lk = k.shape[1]
        dm = att.q.w.shape[1]
        H = dm // n_heads

        def heads(x, L):
            return x.reshape(B, L, n_heads, H).transpose(1, 2)

        qh = heads(att.q(query), Lq)
        scores = torch.matmul(qh, heads(k, Lk).transpose(2, 3)) * (1.0 / math.sqrt(H))
        if key_mask is not None:
            scores = scores.masked_fill(~key_mask.reshape(B, 1, 1, Lk), -1e9)
        out = torch.matmul(torch.softmax(scores, -1), heads(v, Lk)).transpose(1, 2).reshape(B, Lq, dm)
        return att.o(out)

    def attention(att, query, kv, key_mask, n_heads):
        return attention_projected_kv(att, query, att.k(kv), att.v(kv), key_mask, n_heads)

    class Ffn(nn.Module):
        def __init__(self, dm, hidden):
            super().__init__()
            self.l1, self.l2 = Linear(dm, hidden), Linear(hidden, dm)

        def forward(self, x):
            return self.l2(torch.relu(self.l1(x)))

    class Block(nn.Module):
        # Pre-LN: x + Attn(LN(x), LN(kv)) then x + FFN(LN(x)); kv None = self-attention (no lnKv).
        def __init__(self, dm, dkv, ff):
            super().__init__()
            self.ln1 = LayerNorm(dm)
            self.lnKv = LayerNorm(dkv) if dkv is not None else None
            self.att = Attention(dm, dkv if dkv is not None else dm, dm)
            self.ln2 = LayerNorm(dm)
            self.ffn = Ffn(dm, ff)

        def forward(self, x, kv, kv_mask, n_heads):
            h = self.ln1(x)
            if kv is None:
                keys = h
            else:
                keys = self.lnKv(kv) if self.lnKv is not None else kv
            x1 = x + attention(self.att, h, keys, kv_mask, n_heads)
            return x1 + self.ffn(self.ln2(x1))

    class GroupingLayer(nn.Module):
        def __init__(self, k):
            super().__init__()
            self.centroids = nn.Parameter(torch.randn(k, d))  # N(0, 1) as in the paper
            self.cross = Block(d, d, C["ffHidden"])
            self.selfs = nn.ModuleList([Block(d, None, C["ffHidden"]) for _ in range(C["selfAttention"])])

    class LevelGrouping(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = Linear(C["dEncoder"], d)
            self.projLn = LayerNorm(d)
            self.segment = nn.Parameter(torch.randn(2, d) * 0.02)
            self.layers = nn.ModuleList([GroupingLayer(k) for k in C["centroids"]])

    class Molecule(nn.Module):
        def __init__(self):
            super().__init__()
            self.inProj = Linear(C["moleculeInput"], d)
            self.hidden = Linear(C["moleculeInput"], C["moleculeHidden"])
            self.out = Linear(C["moleculeHidden"], d)
            self.ln = LayerNorm(d)

    class Fusion(nn.Module):
        def __init__(self):
            super().__init__()
            self.cross = Block(d, d, C["ffHidden"])
            self.self_ = Block(d, None, C["ffHidden"])

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = Linear(2 * d, C["headHidden"])
            self.l2 = Linear(C["headHidden"], C["headHidden"])
            self.l3 = Linear(C["headHidden"], 1)

    class Cladmop(nn.Module):
        def __init__(self):
            super().__init__()
            self.grouping = nn.ModuleList([LevelGrouping() for _ in C["levels"]])
            self.molecule = Molecule()
            self.unknownMolecule = nn.Parameter(torch.randn(d) * 0.02)
            self.nameEmb = nn.Parameter(torch.randn(C["nameBuckets"], d) * 0.02)
            self.icdEmb = nn.Parameter(torch.randn(max(1, C["icdVocab"]), d) * 0.02)
            self.typeEmb = nn.Parameter(torch.randn(3, d) * 0.02)
            self.dmBlocks = nn.ModuleList([Block(d, None, C["ffHidden"]) for _ in range(C["dmLayers"])])
            self.fusion = nn.ModuleList([Fusion() for _ in C["levels"]])
            self.projC = Linear(d, C["dJoint"])
            self.projDm = Linear(d, C["dJoint"])
            self.logitScale = nn.Parameter(torch.tensor(C["initLogitScale"]))
            self.head = Head()

    nh = C["nHeads"]

    def layer_norm_p(p, x):
        return p(x)

    def group_criteria(model, crit, crit_mask, crit_segment):
        out = []
        B = crit_mask.shape[0]
        for li, level in enumerate(C["levels"]):
            g = model.grouping[li]
            x = g.projLn(g.proj(crit[level]))
            x = x + g.segment[crit_segment]
            tokens, mask = x, crit_mask
            for layer in g.layers:
                K = layer.centroids.shape[0]
                cent = layer.centroids.unsqueeze(0).expand(B, K, d)
                cent = layer.cross(cent, tokens, mask, nh)
                mask = None  # centroids are all real tokens
                for s in layer.selfs:
                    cent = s(cent, None, None, nh)
                tokens = cent
            out.append(tokens)
        return out

    def dm_tokens(model, b):
        m = model.molecule
        mol_in = b["molFeatures"]
        hidden = torch.relu(m.hidden(mol_in))
        mol = m.ln(m.inProj(mol_in) + m.out(hidden))
        B, M = b["molMask"].shape
        unknown_slot = b["molUnknown"].unsqueeze(-1) * (torch.arange(M) == 0).float()
        mol = mol * (1 - unknown_slot).unsqueeze(-1) + unknown_slot.unsqueeze(-1) * model.unknownMolecule
        names = (model.nameEmb[b["nameIds"]] * b["nameWeights"].unsqueeze(-1)).sum(2)
        icd = (model.icdEmb[b["icdIds"]] * b["icdWeights"].unsqueeze(-1)).sum(2)
        t = model.typeEmb
        tokens = torch.cat([mol + t[0], names + t[1], icd + t[2]], 1)
        mask = torch.cat([b["molMask"], b["nameMask"], b["icdMask"]], 1)
        return tokens, mask

    def masked_mean(x, mask):
        m = mask.float()
        num = (x * m.unsqueeze(-1)).sum(1)
        den = torch.clamp(m.sum(1, keepdim=True), min=1)
        return num / den

    def l2normalize(x):
        return x / torch.sqrt((x * x).sum(-1, keepdim=True) + 1e-12)

    def fuse_pairs(model, x, mask, grouped, B):
        for i, f in enumerate(model.fusion):
            g = grouped[i]
            K = g.shape[1]
            kv_in = f.cross.lnKv(g)

            def pairs(a):
                return a.unsqueeze(1).expand(B, B, K, d).reshape(B * B, K, d)

            k = pairs(f.cross.att.k(kv_in))
            v = pairs(f.cross.att.v(kv_in))
            h = f.cross.ln1(x)
            x = x + attention_projected_kv(f.cross.att, h, k, v, None, nh)
            x = x + f.cross.ffn(f.cross.ln2(x))
            x = f.self_(x, None, mask, nh)
        return x

    def pair_logits(model, b):
        B = b["critMask"].shape[0]
        grouped = group_criteria(model, b["crit"], b["critMask"], b["critSegment"])
        crit_pooled = grouped[-1].max(1).values
        tokens, mask = dm_tokens(model, b)
        x = tokens
        for blk in model.dmBlocks:
            x = blk(x, None, mask, nh)
        N = x.shape[1]
        x_pairs = x.unsqueeze(0).expand(B, B, N, d).reshape(B * B, N, d)
        mask_pairs = mask.unsqueeze(0).expand(B, B, N).reshape(B * B, N)
        fused = fuse_pairs(model, x_pairs, mask_pairs, grouped, B)
        z_dm = l2normalize(model.projDm(masked_mean(fused, mask_pairs))).reshape(B, B, C["dJoint"])
        z_c = l2normalize(model.projC(crit_pooled)).reshape(B, 1, C["dJoint"])
        return (z_dm * z_c).sum(-1) * torch.exp(model.logitScale)

    def info_nce(logits):
        B = logits.shape[0]
        eye = torch.eye(B)
        rows = (torch.log_softmax(logits, 1) * eye).sum(1).mean()
        cols = (torch.log_softmax(logits, 0) * eye).sum(0).mean()
        return (rows + cols) * -0.5

    model = Cladmop()

    def count(mod_or_params):
        ps = mod_or_params.parameters() if hasattr(mod_or_params, "parameters") else mod_or_params
        return sum(p.numel() for p in ps)

    counts = {
        "total": count(model),
        "grouping": count(model.grouping),
        "molecule": count(model.molecule),
        "embeddings": count([model.unknownMolecule, model.nameEmb, model.icdEmb, model.typeEmb]),
        "dmBlocks": count(model.dmBlocks),
        "fusion": count(model.fusion),
        "projections": count([*model.projC.parameters(), *model.projDm.parameters(), model.logitScale]),
        "head": count(model.head),
    }
    info = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "parameters": counts,
        "blas": blas_libraries(),
        "config": C,
    }
    if args.count_only:
        print(json.dumps(info))
        return

    # Synthetic batch with the shapes of src/features/trial-batch.ts packBatch.
    B, L = args.batch, args.criteria
    g = torch.Generator().manual_seed(11)
    crit_mask = torch.ones(B, L, dtype=torch.bool)
    crit_segment = (torch.arange(L) >= L // 2).long().unsqueeze(0).expand(B, L).contiguous()
    n_mol = torch.randint(0, 4, (B,), generator=g)
    mol_mask = torch.arange(MAX_MOLECULES).unsqueeze(0) < n_mol.unsqueeze(1)
    mol_unknown = (n_mol == 0).float()
    mol_mask[:, 0] |= n_mol == 0
    n_drugs = torch.randint(1, 4, (B,), generator=g)
    n_dis = torch.randint(1, 3, (B,), generator=g)
    batch = {
        "crit": [torch.rand(B, L, C["dEncoder"], generator=g) * 2 - 1 for _ in range(3)],
        "critMask": crit_mask,
        "critSegment": crit_segment,
        "molFeatures": torch.rand(B, MAX_MOLECULES, C["moleculeInput"], generator=g) * mol_mask.unsqueeze(-1),
        "molMask": mol_mask,
        "molUnknown": mol_unknown,
        "nameIds": torch.randint(1, C["nameBuckets"], (B, MAX_DRUGS, MAX_NGRAMS), generator=g),
        "nameWeights": torch.full((B, MAX_DRUGS, MAX_NGRAMS), 1 / math.sqrt(20)),
        "nameMask": torch.arange(MAX_DRUGS).unsqueeze(0) < n_drugs.unsqueeze(1),
        "icdIds": torch.randint(1, max(2, C["icdVocab"]), (B, MAX_DISEASES, MAX_ANCESTORS), generator=g),
        "icdWeights": torch.full((B, MAX_DISEASES, MAX_ANCESTORS), 0.5),
        "icdMask": torch.arange(MAX_DISEASES).unsqueeze(0) < n_dis.unsqueeze(1),
    }

    # AdamW of src/train/adam.ts: decay (0.01) on matrices only, betas (0.9, 0.999), eps 1e-8, lr 1e-3 (the
    # pre-training lr), global-norm clipping at 1.0 with scale min(1, clip / (norm + 1e-6)) like torch's.
    params = list(model.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = info_nce(pair_logits(model, batch))
        loss.backward()
        for p in params:  # the head: zero gradients, still updated (weight decay) as in the TS step
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        v = float(loss.detach())
        if not math.isfinite(v):
            raise RuntimeError(f"loss is {v}")
        return v

    for i in range(args.warmup):
        t = time.perf_counter()
        step()
        print(f"[torch] warm-up {i + 1}/{args.warmup}: {1000 * (time.perf_counter() - t):.1f} ms", file=sys.stderr)
    times = []
    for i in range(args.repeats):
        t = time.perf_counter()
        step()
        times.append(1000 * (time.perf_counter() - t))
        print(f"[torch] step {i + 1}/{args.repeats}: {times[-1]:.1f} ms", file=sys.stderr)

    # Calibration: this torch build's own 1024^3 float32 matmul (tells which BLAS it really runs on).
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.matmul(a, b)
    mm = []
    for _ in range(3):
        t = time.perf_counter()
        torch.matmul(a, b)
        mm.append(time.perf_counter() - t)
    info.update({
        "batch": B,
        "criteriaTokens": L,
        "warmup": args.warmup,
        "stepMs": {"median": statistics.median(times), "min": min(times), "max": max(times), "n": len(times)},
        "matmul1024Gflops": 2 * 1024 ** 3 / min(mm) / 1e9,
        "blas": blas_libraries(),
    })
    print(json.dumps(info))


def blas_libraries():
    """Shared libraries of this process that look like BLAS/LAPACK implementations, resolved."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                base = os.path.basename(p)
                if any(k in base for k in ("blas", "lapack", "mkl", "blis", "openblas")):
                    libs.add(os.path.realpath(p))
    except OSError:
        pass
    return sorted(libs)


if __name__ == "__main__":
    main()
