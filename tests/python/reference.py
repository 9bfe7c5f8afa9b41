"""torchaudio 0.13.1 reference for the Emformer RNN-T transcriber parity tests.

A case is a directory holding what `ember convert` and `ember encode` read
(model.pt, config.json, features.npy) and what torchaudio produced from them
(expected.npy, and expected_streaming.npy when streaming is supported).
"""

import json
import math
import os

import numpy as np
import torch
import torchaudio.models

# The 21 keyword arguments of torchaudio.models.emformer_rnnt_model, in its order.
MODEL_KWARGS = (
    "input_dim", "encoding_dim", "num_symbols", "segment_length", "right_context_length",
    "time_reduction_input_dim", "time_reduction_stride", "transformer_num_heads",
    "transformer_ffn_dim", "transformer_num_layers", "transformer_dropout",
    "transformer_activation", "transformer_left_context_length", "transformer_max_memory_size",
    "transformer_weight_init_scale_strategy", "transformer_tanh_on_mem", "symbol_embedding_dim",
    "num_lstm_layers", "lstm_layer_norm", "lstm_layer_norm_epsilon", "lstm_dropout",
)

# What emformer_rnnt_base(num_symbols) passes to emformer_rnnt_model (rnnt.py, 0.13.1).
BASE_KWARGS = dict(
    input_dim=80, encoding_dim=1024, segment_length=16, right_context_length=4,
    time_reduction_input_dim=128, time_reduction_stride=4, transformer_num_heads=8,
    transformer_ffn_dim=2048, transformer_num_layers=20, transformer_dropout=0.1,
    transformer_activation="gelu", transformer_left_context_length=30,
    transformer_max_memory_size=0, transformer_weight_init_scale_strategy="depthwise",
    transformer_tanh_on_mem=True, symbol_embedding_dim=512, num_lstm_layers=3,
    lstm_layer_norm=True, lstm_layer_norm_epsilon=1e-3, lstm_dropout=0.3,
)


def resolve(config):
    """All 21 keyword arguments, whether `config` is explicit or {"preset": "base", ...}."""
    if "preset" in config:
        if config["preset"] != "base":
            raise ValueError(f"unknown preset {config['preset']!r}")
        return dict(BASE_KWARGS, num_symbols=config["num_symbols"])
    missing = [k for k in MODEL_KWARGS if k not in config]
    extra = [k for k in config if k not in MODEL_KWARGS]
    if missing or extra:
        raise ValueError(f"config: missing {missing}, unknown {extra}")
    return dict(config)


def streaming_supported(config):
    kw = resolve(config)
    stride = kw["time_reduction_stride"]
    return kw["segment_length"] % stride == 0 and kw["right_context_length"] % stride == 0


def build_model(config, seed, out_proj_gain=1.0, blank_logit_bias=0.0, joiner_gain=1.0):
    """Random-weight model in eval mode.

    Every bias and every LayerNorm weight is perturbed so that none is 0 or 1
    (a converter that drops one, or a kernel that ignores one, shows). Each
    attention out_proj weight is scaled by `out_proj_gain`: its output feeds
    the memory bank through tanh or clamp(-10, 10), which only bite when the
    values are large.

    For the beam-search tests: the joiner's linear weight and bias are scaled
    by `joiner_gain`, then `blank_logit_bias` is added to the bias of the
    blank symbol (the last one), so that random weights give peaked token
    distributions and blank most frames, as a trained model does. Neither
    option draws random numbers: at their defaults the weights do not change.
    """
    torch.manual_seed(seed)
    if "preset" in config:
        model = torchaudio.models.emformer_rnnt_base(num_symbols=config["num_symbols"])
    else:
        model = torchaudio.models.emformer_rnnt_model(**resolve(config))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(1.0 + 0.1 * torch.randn_like(module.weight))
        for name, param in model.named_parameters():
            if name.endswith(".bias"):
                param.copy_(0.1 * torch.randn_like(param))
            if name.endswith("attention.out_proj.weight"):
                param.mul_(out_proj_gain)
        if joiner_gain != 1.0:
            model.joiner.linear.weight.mul_(joiner_gain)
            model.joiner.linear.bias.mul_(joiner_gain)
        if blank_logit_bias:
            model.joiner.linear.bias[-1] += blank_logit_bias
    return model.eval()


def random_features(T, input_dim, seed):
    """(T, input_dim) float32, standard normal."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((T, input_dim)).astype(np.float32)


def reference_encode(model, features, config):
    """Non-streaming transcriber output, (T // stride - rc // stride, encoding_dim).

    `features` (T, input_dim) ends with right_context_length frames of right
    context. Lengths: torchaudio's own pipeline (pipelines/rnnt_pipeline.py)
    pads the right context onto the features and passes length = T, the full
    row count, so that is what we pass. With batch size 1 the value has no
    effect anyway: _TimeReduction only divides it by the stride, and the
    Emformer builds a padding mask from it only when B > 1 (_gen_padding_mask);
    the left-context branch that reads `lengths` runs only in streaming infer.
    The row count comes from the shapes alone: _TimeReduction drops the last
    T % stride frames, then _EmformerImpl.forward keeps all but the last
    rc // stride reduced frames as the utterance.
    """
    kw = resolve(config)
    T = features.shape[0]
    with torch.no_grad():
        out, _ = model.transcribe(torch.from_numpy(features)[None], torch.tensor([T]))
    out = out[0].numpy()
    stride = kw["time_reduction_stride"]
    expected_rows = T // stride - kw["right_context_length"] // stride
    assert out.shape == (expected_rows, kw["encoding_dim"]), out.shape
    return out


def streaming_chunks(features, config):
    """Chunk k is rows [k*seg, k*seg + seg + rc), zero-padded to seg + rc rows."""
    kw = resolve(config)
    seg, rc = kw["segment_length"], kw["right_context_length"]
    T, D = features.shape
    num_chunks = math.ceil((T - rc) / seg)
    chunks = []
    for k in range(num_chunks):
        chunk = np.zeros((seg + rc, D), dtype=np.float32)
        rows = features[k * seg : k * seg + seg + rc]
        chunk[: rows.shape[0]] = rows
        chunks.append(chunk)
    return chunks


def reference_encode_streaming(model, features, config):
    """Streaming transcriber output: per-chunk outputs of transcribe_streaming
    (each (seg // stride, encoding_dim)) concatenated along time, state carried.
    Every chunk, the zero-padded last one included, is passed with length
    seg + rc: the Emformer subtracts rc // stride from the reduced length and,
    with B = 1, uses the result only to find where the right-context keys end
    when splicing in the left-context cache (T_query - length - summary)."""
    if not streaming_supported(config):
        raise ValueError("streaming needs segment_length and right_context_length divisible by the stride")
    kw = resolve(config)
    seg, rc = kw["segment_length"], kw["right_context_length"]
    state = None
    outputs = []
    with torch.no_grad():
        for chunk in streaming_chunks(features, config):
            out, _, state = model.transcribe_streaming(
                torch.from_numpy(chunk)[None], torch.tensor([seg + rc]), state
            )
            outputs.append(out[0].numpy())
    return np.concatenate(outputs, axis=0)


def write_inputs(case_dir, model, config, features):
    """Writes what `ember convert` and `ember encode`/`decode` read into case_dir (created if
    needed): model.pt (the state_dict), config.json and features.npy."""
    os.makedirs(case_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(case_dir, "model.pt"))
    if "preset" not in config:
        config = {k: config[k] for k in MODEL_KWARGS}  # torchaudio's argument order
    with open(os.path.join(case_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    np.save(os.path.join(case_dir, "features.npy"), features)


def write_case(dir, name, config, seed, T, out_proj_gain=1.0):
    """Writes DIR/NAME/{model.pt, config.json, features.npy, expected.npy[, expected_streaming.npy]}.
    Returns the case directory."""
    case_dir = os.path.join(dir, name)
    model = build_model(config, seed, out_proj_gain)
    features = random_features(T, resolve(config)["input_dim"], seed + 1)
    write_inputs(case_dir, model, config, features)
    np.save(os.path.join(case_dir, "expected.npy"), reference_encode(model, features, config))
    streaming_path = os.path.join(case_dir, "expected_streaming.npy")
    if streaming_supported(config):
        np.save(streaming_path, reference_encode_streaming(model, features, config))
    elif os.path.exists(streaming_path):
        os.remove(streaming_path)
    return case_dir
