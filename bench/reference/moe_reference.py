#!/usr/bin/env python3
"""Plain PyTorch re-implementation of the MoE transformer in src/Trainer/Moe.Model (docs/model.md).

Same parameter names and shapes as TorchSharp's state_dict, so a weights.safetensors written by the C# side
loads with strict=True. Written from the specification and the C# code, op for op where order matters.

  python3 moe_reference.py check <export dir> [--tol 1e-4] [--device cpu]
      <export dir> comes from `Moe.Bench export`; compares logits and every loss, exit 0 on PASS, 1 on FAIL.
  python3 moe_reference.py bench --config <json> [--batch 8] [--seq 128] [--steps 10] [--warmup 3]
      [--dtype bf16|fp32] [--device cuda] [--peak-tflops X] [--set field=value] [--json]
      forward + backward + AdamW steps on random tokens: tokens/s and MFU, as `Moe.Bench step` measures them.
"""
import argparse, json, math, statistics, struct, sys, time
from decimal import Decimal
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------- configuration (ModelConfig.cs)

DEFAULTS = dict(name="model", vocab_size=512, d_model=128, n_layers=4, n_heads=4, n_kv_heads=None, max_seq_len=256,
                ffn_hidden=512, rope_theta=10000.0, sliding_window=None, tie_embeddings=True, norm_eps=1e-6,
                init_std=0.02, moe=None, mtp=None)
MOE_DEFAULTS = dict(num_experts=8, top_k=2, expert_hidden=512, num_shared_experts=0, shared_expert_hidden=None,
                    every=1, first_dense_blocks=0, dispatch="segments", router={}, capacity={}, balance={})
SECTION_DEFAULTS = dict(
    router=dict(score="softmax", gating="top_k", normalize_top_k=True),
    capacity=dict(train_factor=1.25, eval_factor=2.0, dropless=False, drop_policy="position"),
    balance=dict(switch_weight=0.0, importance_weight=0.0, z_loss_weight=0.0, group_weight=0.0, groups=1,
                 aux_free=False, aux_free_gamma=0.001))
MTP_DEFAULTS = dict(depth=1, weight=0.3)


def _merge(defaults, given, where):
    unknown = set(given) - set(defaults) - {"_comment"}
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
    return {k: given.get(k, v) for k, v in defaults.items()}


def load_config(path, overrides=()):
    with open(path) as f:
        raw = json.load(f)
    for assignment in overrides:  # field.path=value, value parsed as JSON when it parses
        key, _, text = assignment.partition("=")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        node, parts = raw, key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    c = SimpleNamespace(**_merge(DEFAULTS, raw, path))
    if c.moe is not None:
        m = _merge(MOE_DEFAULTS, c.moe, "moe")
        for section, defaults in SECTION_DEFAULTS.items():
            m[section] = SimpleNamespace(**_merge(defaults, m[section], f"moe.{section}"))
        c.moe = SimpleNamespace(**m)
        c.moe.shared_hidden = c.moe.shared_expert_hidden or c.moe.expert_hidden
    if c.mtp is not None:
        c.mtp = SimpleNamespace(**_merge(MTP_DEFAULTS, c.mtp, "mtp"))
    c.kv_heads = c.n_kv_heads or c.n_heads
    c.head_dim = c.d_model // c.n_heads
    return c


def is_moe_block(c, i):
    m = c.moe
    return m is not None and i >= m.first_dense_blocks and (i - m.first_dense_blocks) % m.every == m.every - 1


def training_flops_per_token(c, seq):
    """ModelSize.TrainingFlopsPerToken: 6 x active matmul weights + 12 x layers x width x context (PaLM app. B)."""
    d, vocab_head = c.d_model, c.vocab_size * c.d_model
    attn = d * c.head_dim * (2 * c.n_heads + 2 * c.kv_heads)

    def active(moe):
        if not moe:
            return attn + 3 * d * c.ffn_hidden
        m = c.moe
        used = m.num_experts if m.router.gating == "soft" else m.top_k
        return attn + m.num_experts * d + 3 * d * (used * m.expert_hidden + m.num_shared_experts * m.shared_hidden)

    weights = vocab_head + sum(active(is_moe_block(c, i)) for i in range(c.n_layers))
    depth = c.mtp.depth if c.mtp else 0
    weights += depth * (active(is_moe_block(c, c.n_layers - 1)) + 2 * d * d + vocab_head)
    context = min(seq, c.sliding_window or seq)
    return 6 * weights + 12.0 * (c.n_layers + depth) * c.n_heads * c.head_dim * context

# ----------------------------------------------------------------------------- modules (Model/*.cs)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):  # computed in fp32
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return (normed * self.weight.float()).to(x.dtype)


class Rotary:
    """Rotate-half RoPE: channel pair (i, i + d/2) turns by m x theta^(-2i/d); tables built in fp64, used in fp32."""
    def __init__(self, head_dim, max_positions, theta):
        half = head_dim // 2
        inv_freq = torch.pow(theta, -torch.arange(0, half, dtype=torch.float64) * 2.0 / head_dim)
        angles = torch.outer(torch.arange(0, max_positions, dtype=torch.float64), inv_freq)
        full = torch.cat([angles, angles], -1)
        self.cos, self.sin, self.max_positions = full.cos().float(), full.sin().float(), max_positions

    def apply(self, x, offset=0):  # x: [B, heads, T, head_dim]
        t = x.shape[2]
        if self.cos.device != x.device:
            self.cos, self.sin = self.cos.to(x.device), self.sin.to(x.device)
        cos, sin = self.cos[offset:offset + t], self.sin[offset:offset + t]
        x32 = x.float()
        h0, h1 = x32.chunk(2, -1)
        return (x32 * cos + torch.cat([-h1, h0], -1) * sin).to(x.dtype)


def _attention_formula(q, k, v, attn_mask=None, is_causal=False):
    """softmax(q k^T / sqrt(d) + mask) v, for torch < 2.0 (e.g. Debian 12's python3-torch 1.13) without SDPA."""
    if is_causal:
        attn_mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    return scores.masked_fill(~attn_mask, float("-inf")).softmax(-1) @ v


attention = getattr(F, "scaled_dot_product_attention", _attention_formula)


def linear(i, o, std):
    layer = nn.Linear(i, o, bias=False)
    nn.init.normal_(layer.weight, 0.0, std)
    return layer


class CausalSelfAttention(nn.Module):
    def __init__(self, c, rope, out_std):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim, self.window, self.rope = c.n_heads, c.kv_heads, c.head_dim, c.sliding_window, rope
        self.wq = linear(c.d_model, c.n_heads * c.head_dim, c.init_std)
        self.wk = linear(c.d_model, c.kv_heads * c.head_dim, c.init_std)
        self.wv = linear(c.d_model, c.kv_heads * c.head_dim, c.init_std)
        self.wo = linear(c.n_heads * c.head_dim, c.d_model, out_std)

    def forward(self, x):
        b, t, _ = x.shape
        q = self.rope.apply(self.wq(x).view(b, t, self.heads, self.head_dim).transpose(1, 2))
        k = self.rope.apply(self.wk(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2))
        v = self.wv(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        if self.kv_heads != self.heads:  # grouped-query attention: consecutive query heads share a key/value head
            k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)
            v = v.repeat_interleave(self.heads // self.kv_heads, dim=1)
        if self.window is not None and self.window < t:
            i = torch.arange(t, device=x.device).unsqueeze(1)
            j = torch.arange(t, device=x.device).unsqueeze(0)
            y = attention(q, k, v, attn_mask=(j <= i) & (i - j < self.window))
        else:
            y = attention(q, k, v, is_causal=True)
        return self.wo(y.transpose(1, 2).reshape(b, t, self.heads * self.head_dim))


class SwiGLU(nn.Module):
    def __init__(self, dim, hidden, init_std, out_std):
        super().__init__()
        self.gate_up = linear(dim, 2 * hidden, init_std)  # rows [0, h): gate, rows [h, 2h): up
        self.down = linear(hidden, dim, out_std)

    def forward(self, x):
        g, u = self.gate_up(x).chunk(2, -1)
        return self.down(F.silu(g) * u)


class SharedExperts(nn.Module):
    def __init__(self, dim, count, hidden, init_std, out_std):
        super().__init__()
        self.experts = SwiGLU(dim, count * hidden, init_std, out_std)

    def forward(self, x):
        return self.experts(x)


class Router(nn.Module):
    def __init__(self, dim, m, init_std):
        super().__init__()
        self.cfg, self.experts = m.router, m.num_experts
        self.top_k = m.num_experts if m.router.gating == "soft" else m.top_k
        self.weight = nn.Parameter(torch.randn(m.num_experts, dim) * init_std)
        self.noise_weight = nn.Parameter(torch.zeros(m.num_experts, dim)) if m.router.gating == "noisy_top_k" else None
        self.register_buffer("expert_bias", torch.zeros(m.num_experts) if m.balance.aux_free else None)

    def forward(self, x):  # all routing math in fp32; returns logits, probs, index [T, k], gates [T, k]
        x32 = x.float()
        logits = F.linear(x32, self.weight.float())
        chosen = logits
        if self.noise_weight is not None and self.training:
            chosen = logits + torch.randn_like(logits) * F.softplus(F.linear(x32, self.noise_weight.float()))
        softmax = self.cfg.score == "softmax"
        scores = chosen.softmax(-1) if softmax else chosen.sigmoid()
        probs = scores if softmax else scores / scores.sum(-1, keepdim=True)
        if self.cfg.gating == "soft":
            index = torch.arange(self.experts, device=x.device).expand(x.shape[0], self.experts)
            gates = scores
        else:  # the aux-free bias only chooses; it never weighs
            selection = scores if self.expert_bias is None else scores + self.expert_bias.float()
            index = selection.topk(self.top_k, dim=-1).indices
            gates = scores.gather(-1, index)
        if self.cfg.normalize_top_k:
            gates = gates / gates.sum(-1, keepdim=True)
        return logits, probs, index, gates


def capacity_slots(factor, tokens, top_k, experts):
    """ExpertCapacity.Slots, in decimal as the C# does (in binary 1.1 x 10 = 11.000000000000002 would round up to 12)."""
    return min(tokens, max(1, math.ceil(Decimal(format(factor, ".15g")) * tokens * top_k / experts)))


def dispatch_plan(expert_index, gates, experts, capacity, policy):
    """ExpertCapacity.Plan: choice-major priority (all first choices, then second...), stable queue positions."""
    tokens, k = expert_index.shape
    n, dev = tokens * k, expert_index.device
    expert = expert_index.t().reshape(n)
    token = torch.arange(tokens, device=dev).repeat(k)
    gate = gates.t().reshape(n)
    if policy == "probability":  # batch-prioritised routing: most confident first
        order = gate.detach().argsort(descending=True)
        expert, token, gate = expert[order], token[order], gate[order]
    counts = expert.bincount(minlength=experts)
    rank = torch.arange(n, device=dev)
    by_expert = (expert * n + rank).argsort()
    starts = counts.cumsum(0) - counts
    sorted_expert = expert.index_select(0, by_expert)
    position = rank - starts.index_select(0, sorted_expert)  # queue position, in expert-grouped order
    counts_host = counts.tolist()
    slots = capacity if capacity is not None else max(1, max(counts_host))
    keep = position < slots
    kept = [min(c, slots) for c in counts_host]
    # Grouped by expert, priority order inside each group, as ExpertCapacity.Plan lists them.
    return SimpleNamespace(token=token[by_expert][keep], slot=(sorted_expert * slots + position)[keep],
                           gate=gate[by_expert][keep], counts=counts, kept=kept, capacity=slots,
                           dropped=n - sum(kept))


class RoutedExperts(nn.Module):
    def __init__(self, experts, dim, hidden, init_std, out_std, dispatch):
        super().__init__()
        self.n, self.dispatch = experts, dispatch
        self.gate_up = nn.Parameter(torch.randn(experts, dim, 2 * hidden) * init_std)  # [E, d, 2h]: gate | up
        self.down = nn.Parameter(torch.randn(experts, hidden, dim) * out_std)          # [E, h, d]

    @staticmethod
    def swiglu(x, gate_up, down):
        g, u = x.matmul(gate_up).chunk(2, -1)
        return (F.silu(g) * u).matmul(down)

    def forward(self, x, plan):
        y = self.padded(x, plan) if self.dispatch == "padded" else self.segments(x, plan)
        weighted = y * plan.gate.to(x.dtype).unsqueeze(1)
        return torch.zeros_like(x).index_add(0, plan.token, weighted)

    def segments(self, x, plan):  # one matmul per expert over its contiguous run of kept assignments
        rows = x.index_select(0, plan.token)
        gate_ups, downs = self.gate_up.unbind(0), self.down.unbind(0)
        outputs = [self.swiglu(seg, gate_ups[e], downs[e])
                   for e, seg in enumerate(rows.split(plan.kept)) if plan.kept[e] > 0]
        return torch.cat(outputs, 0) if outputs else torch.zeros_like(rows)

    def padded(self, x, plan):  # padded [E, capacity, d] buffer; empty slots read an appended zero row
        tokens, dim = x.shape
        slots = self.n * plan.capacity
        source = torch.full((slots,), tokens, dtype=torch.long, device=x.device).scatter_(0, plan.slot, plan.token)
        buffer = torch.cat([x, x.new_zeros(1, dim)], 0).index_select(0, source).view(self.n, plan.capacity, dim)
        return self.swiglu(buffer, self.gate_up, self.down).view(slots, dim).index_select(0, plan.slot)


class MoELayer(nn.Module):
    def __init__(self, dim, m, init_std, out_std):
        super().__init__()
        self.m = m
        self.router = Router(dim, m, init_std)
        self.experts = RoutedExperts(m.num_experts, dim, m.expert_hidden, init_std, out_std, m.dispatch)
        self.shared_experts = SharedExperts(dim, m.num_shared_experts, m.shared_hidden, init_std, out_std) if m.num_shared_experts > 0 else None

    def forward(self, x):
        m, shape = self.m, x.shape
        flat = x.reshape(-1, shape[-1])
        tokens = flat.shape[0]
        logits, probs, index, gates = self.router(flat)
        capacity = None
        if not (m.capacity.dropless or m.router.gating == "soft"):
            factor = m.capacity.train_factor if self.training else m.capacity.eval_factor
            capacity = capacity_slots(factor, tokens, self.router.top_k, m.num_experts)
        plan = dispatch_plan(index, gates, m.num_experts, capacity, m.capacity.drop_policy)
        y = self.experts(flat, plan)
        if self.shared_experts is not None:
            y = y + self.shared_experts(flat)
        # BalancingLosses.cs
        e, b = m.num_experts, m.balance
        f = plan.counts.float() / (tokens * self.router.top_k)
        p_mean = probs.mean(0)
        importance = torch.zeros(e, device=x.device).index_add(0, index.reshape(-1), gates.reshape(-1))
        losses = [
            (b.switch_weight, lambda: e * (f * p_mean).sum()),
            (b.importance_weight, lambda: (importance - importance.mean()).pow(2).mean() / (importance.mean().pow(2) + 1e-10)),
            (b.z_loss_weight, lambda: logits.logsumexp(-1).pow(2).mean()),
            (b.group_weight, lambda: ((e * f).view(b.groups, e // b.groups).mean(1) * p_mean.view(b.groups, e // b.groups).sum(1)).sum()),
        ]
        aux = torch.zeros(1, device=x.device).squeeze()
        for weight, loss in losses:
            if weight > 0:
                aux = aux + weight * loss()
        return y.view(shape), aux, plan.counts


class TransformerBlock(nn.Module):
    def __init__(self, c, moe, rope):
        super().__init__()
        out_std = c.init_std / math.sqrt(2.0 * c.n_layers)
        self.attn_norm, self.ffn_norm = RMSNorm(c.d_model, c.norm_eps), RMSNorm(c.d_model, c.norm_eps)
        self.attn = CausalSelfAttention(c, rope, out_std)
        if moe:
            self.moe = MoELayer(c.d_model, c.moe, c.init_std, out_std)
        else:
            self.ffn = SwiGLU(c.d_model, c.ffn_hidden, c.init_std, out_std)

    def forward(self, x):  # returns (output, (aux loss, counts) or None)
        h = x + self.attn(self.attn_norm(x))
        if not hasattr(self, "moe"):
            return h + self.ffn(self.ffn_norm(h)), None
        y, aux, counts = self.moe(self.ffn_norm(h))
        return h + y, (aux, counts)


class MultiTokenPredictionModule(nn.Module):
    def __init__(self, c, moe, rope):
        super().__init__()
        self.hidden_norm, self.embed_norm, self.final_norm = (RMSNorm(c.d_model, c.norm_eps) for _ in range(3))
        self.proj = linear(2 * c.d_model, c.d_model, c.init_std)
        self.block = TransformerBlock(c, moe, rope)

    def forward(self, previous, next_embeddings):
        return self.block(self.proj(torch.cat([self.hidden_norm(previous), self.embed_norm(next_embeddings)], -1)))


class MoeTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        rope = Rotary(c.head_dim, c.max_seq_len, c.rope_theta)
        self.tok_embeddings = nn.Embedding(c.vocab_size, c.d_model)
        nn.init.normal_(self.tok_embeddings.weight, 0.0, c.init_std)
        self.blocks = nn.ModuleList(TransformerBlock(c, is_moe_block(c, i), rope) for i in range(c.n_layers))
        self.final_norm = RMSNorm(c.d_model, c.norm_eps)
        self.output = None if c.tie_embeddings else linear(c.d_model, c.vocab_size, c.init_std)
        depth = c.mtp.depth if c.mtp else 0
        self.mtp = nn.ModuleList(MultiTokenPredictionModule(c, is_moe_block(c, c.n_layers - 1), rope) for _ in range(depth))

    def head(self, x):
        return F.linear(x, self.tok_embeddings.weight) if self.output is None else self.output(x)

    def forward(self, tokens, targets=None):
        emb = self.tok_embeddings(tokens)
        h, moe = emb, []
        for block in self.blocks:
            h, aux = block(h)
            if aux is not None:
                moe.append(aux)
        logits = self.head(self.final_norm(h))
        out = SimpleNamespace(logits=logits, loss=None, lm_loss=None, aux_loss=None, mtp_loss=None, counts=None)
        if targets is None:
            return out
        out.lm_loss = cross_entropy(logits, targets)
        if len(self.mtp) > 0:  # MoeTransformer.MultiTokenLoss; MTP layers' aux losses join aux_loss
            length, previous, losses = h.shape[1], h, []
            for k in range(1, min(len(self.mtp), length - 1) + 1):
                module, span = self.mtp[k - 1], length - k
                hk, aux = module(previous[:, :span], emb[:, k:k + span])
                if aux is not None:
                    moe.append(aux)
                losses.append(cross_entropy(self.head(module.final_norm(hk)), targets[:, k:k + span]))
                previous = hk
            # averaged over the depths the sequence length allows
            out.mtp_loss = (self.c.mtp.weight / len(losses) * torch.stack(losses).sum() if losses
                            else torch.zeros(1, device=tokens.device).squeeze())
        out.aux_loss = torch.stack([a for a, _ in moe]).sum() if moe else torch.zeros(1, device=tokens.device).squeeze()
        out.loss = out.lm_loss + out.aux_loss + (out.mtp_loss if out.mtp_loss is not None else 0)
        out.counts = [c for _, c in moe]
        return out

    def routers(self):
        return [m for m in self.modules() if isinstance(m, Router)]  # main blocks, then MTP: the stats order

    def update_aux_free_biases(self, counts):
        """DeepSeek-V3: b_i += gamma x sign(mean load - load_i), after each optimiser step (one host copy per step)."""
        if self.c.moe is None or not self.c.moe.balance.aux_free or not counts:
            return
        loads = torch.stack(counts).float().cpu()
        with torch.no_grad():
            for router, load in zip(self.routers(), loads):
                router.expert_bias.add_((self.c.moe.balance.aux_free_gamma * torch.sign(load.mean() - load)).to(router.expert_bias.device))

    def to_compute_dtype(self, dtype):  # MoeTransformer.ToComputeDtype: router and norms stay fp32
        self.to(dtype)
        for m in self.modules():
            if isinstance(m, (RMSNorm, Router)):
                m.float()
        return self


def cross_entropy(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))

# ----------------------------------------------------------------------------- safetensors


def load_safetensors(path):
    try:
        from safetensors.torch import load_file
        return load_file(path)
    except ImportError:  # the format is simple enough to read here
        dtypes = dict(F32=torch.float32, F16=torch.float16, BF16=torch.bfloat16, I64=torch.int64, I32=torch.int32, U8=torch.uint8, BOOL=torch.bool)
        with open(path, "rb") as f:
            data = f.read()
        (n,) = struct.unpack("<Q", data[:8])
        header, base, result = json.loads(data[8:8 + n]), 8 + n, {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            raw = bytearray(data[base + begin:base + end])
            t = torch.frombuffer(raw, dtype=dtypes[info["dtype"]]) if raw else torch.empty(0, dtype=dtypes[info["dtype"]])
            result[name] = t.reshape(info["shape"])
        return result

# ----------------------------------------------------------------------------- commands


def check(args):
    d = args.dir.rstrip("/")
    c = load_config(f"{d}/config.json")
    expected = json.load(open(f"{d}/expected.json"))
    device = torch.device(args.device)
    model = MoeTransformer(c)
    model.load_state_dict(load_safetensors(f"{d}/weights.safetensors"), strict=True)
    model.to(device).train()  # the export's mode: training (train capacity factor, MTP on), deterministic routing
    tokens = load_safetensors(f"{d}/tokens.safetensors")
    with torch.no_grad():
        out = model(tokens["inputs"].to(device), tokens["targets"].to(device))
    ok, report = True, []
    diff = (out.logits.float().cpu() - load_safetensors(f"{d}/expected.safetensors")["logits"]).abs().max().item()
    ok &= diff <= args.tol
    report.append(f"logits   max |diff| {diff:.3e}")
    for name in ("loss", "lm_loss", "aux_loss", "mtp_loss"):
        mine, theirs = getattr(out, name), expected.get(name)
        if mine is None or theirs is None:
            same = mine is None and theirs is None
            report.append(f"{name:8s} {'both absent' if same else 'present on one side only'}")
        else:
            same = abs(mine.item() - theirs) <= args.tol
            report.append(f"{name:8s} reference {mine.item():.7f}  torchsharp {theirs:.7f}  |diff| {abs(mine.item() - theirs):.3e}")
        ok &= same
    mismatched = [r["layer"] for r, cnt in zip(expected.get("router", []), out.counts or [])
                  if r["tokens_per_expert"] != cnt.cpu().tolist()]
    report.append("routing  tokens per expert " + (f"differ in layers {mismatched}" if mismatched else "identical in every MoE layer"))
    print(f"check {d} ({expected.get('config')}, batch {expected.get('batch')} x seq {expected.get('seq')}, mode {expected.get('mode')}, tol {args.tol:g})")
    print("\n".join("  " + line for line in report))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device):
    n, dtype, label = (8192, torch.bfloat16, "bf16 8192^3") if device.type == "cuda" else (1024, torch.float32, "fp32 1024^3")
    a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
    for _ in range(10 if device.type == "cuda" else 3):
        a @ b
    best = 0.0
    for _ in range(5):  # best of 5 trials, as Moe.Bench measures it
        sync(device)
        start, iterations = time.perf_counter(), 0
        while (iterations < 40) if device.type == "cuda" else (iterations < 3 or time.perf_counter() - start < 0.25):
            a @ b
            iterations += 1
        sync(device)
        best = max(best, 2.0 * n ** 3 * iterations / (time.perf_counter() - start) / 1e12)
    return best, f"measured {label} matmul, best of 5"


def bench(args):
    device = torch.device(args.device)
    c = load_config(args.config, args.set)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    torch.manual_seed(args.seed)
    model = MoeTransformer(c).to(device)
    if dtype != torch.float32:
        model.to_compute_dtype(dtype)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    print(f"[reference] {c.name}: batch {args.batch} x seq {args.seq}, {args.warmup} warm-up + {args.steps} timed steps, "
          f"{args.dtype} on {device}, torch {torch.__version__}", file=sys.stderr)
    first = last = float("nan")
    step_ms = []
    sync(device)
    for step in range(args.warmup + args.steps):  # each step timed alone, device work included; median below
        start = time.perf_counter()
        tokens = torch.randint(c.vocab_size, (args.batch, args.seq + 1), device=device)
        out = model(tokens[:, :-1], tokens[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
        model.update_aux_free_biases(out.counts)
        if step == 0:
            first = out.loss.item()
        if step == args.warmup + args.steps - 1:
            last = out.loss.item()
        del out
        sync(device)
        if step >= args.warmup:
            step_ms.append(1000 * (time.perf_counter() - start))
    peak, source = (args.peak_tflops, "given by --peak-tflops") if args.peak_tflops else matmul_peak(device)
    median_ms = statistics.median(step_ms) if step_ms else float("nan")
    tokens_per_s = args.batch * args.seq * 1000 / median_ms
    flops = training_flops_per_token(c, args.seq)
    tflops = flops * tokens_per_s / 1e12
    result = dict(kind="step", impl="pytorch", config=c.name, config_path=args.config, device=str(device), dtype=args.dtype,
                  batch=args.batch, seq=args.seq, steps=args.steps, warmup=args.warmup,
                  params_total=sum(p.numel() for p in model.parameters()), flops_per_token=flops,
                  tokens_per_s=round(tokens_per_s, 1), ms_per_step=round(median_ms, 3),
                  ms_per_step_mean=round(statistics.fmean(step_ms), 3) if step_ms else None,
                  tflops=round(tflops, 4), peak_tflops=round(peak, 4), peak_source=source, mfu=round(tflops / peak, 5),
                  loss_first=round(first, 5), loss_last=round(last, 5), torch=torch.__version__)
    if args.json:
        print(json.dumps(result))
    print(f"{c.name}: {tokens_per_s:.0f} tokens/s, {result['ms_per_step']} ms/step, {flops / 1e6:.1f}M FLOPs/token, "
          f"{tflops:.3f} TFLOP/s, MFU {100 * tflops / peak:.1f}% (peak {peak:.4g} TFLOP/s, {source}), loss {first:.3f} -> {last:.3f}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="compare with a `Moe.Bench export` directory")
    c.add_argument("dir")
    c.add_argument("--tol", type=float, default=1e-4)
    c.add_argument("--device", default="cpu")
    b = sub.add_parser("bench", help="training-step throughput and MFU")
    b.add_argument("--config", required=True)
    b.add_argument("--batch", type=int, default=8)
    b.add_argument("--seq", type=int, default=128)
    b.add_argument("--steps", type=int, default=10)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--dtype", choices=["fp32", "bf16"], default="bf16")
    b.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    b.add_argument("--peak-tflops", type=float, default=None)
    b.add_argument("--set", action="append", default=[], help="config override field.path=value (repeatable)")
    b.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    args = p.parse_args()
    return check(args) if args.command == "check" else bench(args)


if __name__ == "__main__":
    sys.exit(main())
