"""Named transcriber configurations for the parity tests.

Each case gives the config (written as config.json), the number of input
frames T (right context included), the seed, and the gain on the attention
out_proj weights (large enough that the memory's tanh / clamp(-10, 10) bite).
Every T leaves the last segment partial: (T - rc) % seg != 0.

Together the small cases cover:
  stride 1, 2, 3, 4; T % stride != 0 (time reduction drops frames);
  odd dims (input_dim, time_reduction_input_dim, ffn_dim, encoding_dim);
  relu, gelu, silu; 1, 2, 3, 6 layers; 1 to 6 heads;
  left context 0, shorter and longer than a segment;
  no memory, memory with tanh, memory with clamp, memory smaller and larger
  than the number of segments;
  weight_init_scale_strategy depthwise / constant / null;
  lstm_layer_norm true / false, 1 or 2 LSTM layers (predictor weights in the .pt);
  streaming unsupported: segment_length % stride != 0, right_context_length % stride != 0.
"""

from collections import namedtuple

Case = namedtuple("Case", "name config T seed out_proj_gain")


def _config(**kw):
    defaults = dict(
        transformer_dropout=0.1,
        transformer_weight_init_scale_strategy="depthwise",
        num_symbols=11,
        symbol_embedding_dim=7,
        num_lstm_layers=1,
        lstm_layer_norm=True,
        lstm_layer_norm_epsilon=1e-3,
        lstm_dropout=0.0,
    )
    return dict(defaults, **kw)


SMALL_CASES = [
    # Stride 1, one layer, one head, no left context, no memory.
    Case("s1_relu_1layer_1head", _config(
        input_dim=13, encoding_dim=17, segment_length=5, right_context_length=2,
        time_reduction_input_dim=19, time_reduction_stride=1,
        transformer_num_heads=1, transformer_ffn_dim=23, transformer_num_layers=1,
        transformer_activation="relu", transformer_left_context_length=0,
        transformer_max_memory_size=0, transformer_tanh_on_mem=False,
        transformer_weight_init_scale_strategy=None, transformer_dropout=0.0,
        lstm_layer_norm=False, lstm_layer_norm_epsilon=1e-5,
    ), T=20, seed=101, out_proj_gain=1.0),
    # Stride 2, memory with clamp, left context longer than a segment, odd T.
    Case("s2_silu_mem_clamp", _config(
        input_dim=37, encoding_dim=29, segment_length=6, right_context_length=2,
        time_reduction_input_dim=21, time_reduction_stride=2,
        transformer_num_heads=3, transformer_ffn_dim=53, transformer_num_layers=3,
        transformer_activation="silu", transformer_left_context_length=4,
        transformer_max_memory_size=3, transformer_tanh_on_mem=False,
        transformer_weight_init_scale_strategy="constant",
        num_symbols=13, symbol_embedding_dim=9, num_lstm_layers=2, lstm_dropout=0.2,
    ), T=41, seed=202, out_proj_gain=40.0),
    # Stride 2, memory with tanh, no left context, more segments than memory slots.
    Case("s2_gelu_mem_tanh_lc0", _config(
        input_dim=16, encoding_dim=24, segment_length=4, right_context_length=2,
        time_reduction_input_dim=9, time_reduction_stride=2,
        transformer_num_heads=2, transformer_ffn_dim=20, transformer_num_layers=2,
        transformer_activation="gelu", transformer_left_context_length=0,
        transformer_max_memory_size=5, transformer_tanh_on_mem=True,
    ), T=29, seed=303, out_proj_gain=6.0),
    # Stride 3, six layers, six heads, one memory slot with tanh, T % 3 != 0.
    Case("s3_gelu_6layers_mem1", _config(
        input_dim=23, encoding_dim=19, segment_length=9, right_context_length=3,
        time_reduction_input_dim=10, time_reduction_stride=3,
        transformer_num_heads=6, transformer_ffn_dim=41, transformer_num_layers=6,
        transformer_activation="gelu", transformer_left_context_length=2,
        transformer_max_memory_size=1, transformer_tanh_on_mem=True,
        num_symbols=7, symbol_embedding_dim=5,
    ), T=37, seed=404, out_proj_gain=8.0),
    # Stride 4, right context as long as a segment, left context over 2+ segments, no memory.
    Case("s4_relu_wide_context", _config(
        input_dim=31, encoding_dim=27, segment_length=8, right_context_length=8,
        time_reduction_input_dim=11, time_reduction_stride=4,
        transformer_num_heads=4, transformer_ffn_dim=37, transformer_num_layers=2,
        transformer_activation="relu", transformer_left_context_length=5,
        transformer_max_memory_size=0, transformer_tanh_on_mem=False,
    ), T=54, seed=505, out_proj_gain=1.0),
    # Streaming unsupported: segment_length % stride != 0.
    Case("nostream_seg_not_multiple", _config(
        input_dim=12, encoding_dim=14, segment_length=5, right_context_length=2,
        time_reduction_input_dim=8, time_reduction_stride=2,
        transformer_num_heads=4, transformer_ffn_dim=18, transformer_num_layers=2,
        transformer_activation="silu", transformer_left_context_length=3,
        transformer_max_memory_size=2, transformer_tanh_on_mem=True,
    ), T=25, seed=606, out_proj_gain=6.0),
    # Streaming unsupported: right_context_length % stride != 0.
    Case("nostream_rc_not_multiple", _config(
        input_dim=10, encoding_dim=12, segment_length=8, right_context_length=6,
        time_reduction_input_dim=5, time_reduction_stride=4,
        transformer_num_heads=5, transformer_ffn_dim=9, transformer_num_layers=1,
        transformer_activation="relu", transformer_left_context_length=1,
        transformer_max_memory_size=0, transformer_tanh_on_mem=False,
    ), T=35, seed=707, out_proj_gain=1.0),
]

# emformer_rnnt_base; its model.pt is ~300 MB, so it is only ever written to scratch.
BASE_CASE = Case("base", {"preset": "base", "num_symbols": 4097}, T=200, seed=808, out_proj_gain=1.0)

ALL_CASES = SMALL_CASES + [BASE_CASE]


# Beam-search (decoder) cases for decode_reference.py, test_decoder_parity.py and
# make_decode_fixtures.py. Each adds to a transcriber config:
#   joiner_gain       scales the joiner's linear layer, so that random weights give peaked
#                     token distributions (and well separated scores: fewer near-ties);
#   blank_logit_bias  then added to the joiner's blank bias, so that the search emits a
#                     non-blank token only every few encoder frames, as a trained model does;
#   temperature, step_max_tokens  RNNTBeamSearch's arguments (torchaudio's defaults: 1.0, 100);
#   frames_per_token  the band (low, high) the best hypothesis's encoder frames per emitted
#                     token must fall in, for every beam and mode: a decoder that emits
#                     nothing, or a token every frame, proves little.
# num_symbols >= 16 leaves room for beam 10 (torchaudio needs beam <= num_symbols - 1).
#
# Together they cover: lstm_layer_norm true / false; 1, 2, 3 LSTM layers; temperature
# 0.7 and 1.5; step_max_tokens reached (2, with a low blank bias); stride 2, 3 and 4;
# and the base preset (live only).
DecodeCase = namedtuple(
    "DecodeCase",
    "name config T seed joiner_gain blank_logit_bias temperature step_max_tokens frames_per_token")


def _decode_config(**kw):
    defaults = dict(
        input_dim=10, encoding_dim=16, segment_length=8, right_context_length=2,
        time_reduction_input_dim=8, time_reduction_stride=2,
        transformer_num_heads=2, transformer_ffn_dim=24, transformer_num_layers=1,
        transformer_activation="relu", transformer_left_context_length=4,
        transformer_max_memory_size=0, transformer_tanh_on_mem=False,
        num_symbols=20, symbol_embedding_dim=8,
    )
    return _config(**dict(defaults, **kw))


DECODE_CASES = [
    # LSTM layer norm on (x2g without bias), one LSTM layer, stride 2.
    DecodeCase("ln_1lstm", _decode_config(
        num_lstm_layers=1, lstm_layer_norm=True,
    ), T=82, seed=1101, joiner_gain=6.0, blank_logit_bias=5.0, temperature=1.0, step_max_tokens=100,
        frames_per_token=(2, 10)),
    # LSTM layer norm off (x2g with bias), three LSTM layers, stride 4.
    DecodeCase("noln_3lstm", _decode_config(
        segment_length=8, right_context_length=4, time_reduction_stride=4,
        num_lstm_layers=3, lstm_layer_norm=False, lstm_layer_norm_epsilon=1e-5,
        num_symbols=17, symbol_embedding_dim=6,
    ), T=164, seed=1202, joiner_gain=6.0, blank_logit_bias=7.0, temperature=1.0, step_max_tokens=100,
        frames_per_token=(2, 10)),
    # Temperature below 1 (sharper), two LSTM layers with layer norm, stride 3.
    DecodeCase("temp0p7_2lstm", _decode_config(
        segment_length=9, right_context_length=3, time_reduction_stride=3,
        transformer_num_layers=2, transformer_activation="gelu",
        num_lstm_layers=2, lstm_layer_norm=True, num_symbols=24,
    ), T=123, seed=1503, joiner_gain=4.0, blank_logit_bias=9.0, temperature=0.7, step_max_tokens=100,
        frames_per_token=(2, 10)),
    # Temperature above 1 (flatter), no LSTM layer norm, one layer, memory with tanh.
    DecodeCase("temp1p5_noln", _decode_config(
        transformer_max_memory_size=4, transformer_tanh_on_mem=True,
        num_lstm_layers=1, lstm_layer_norm=False, lstm_layer_norm_epsilon=1e-5,
    ), T=90, seed=1604, joiner_gain=4.0, blank_logit_bias=7.0, temperature=1.5, step_max_tokens=100,
        frames_per_token=(2, 10)),
    # step_max_tokens reached: a low blank bias makes the search want several tokens in one
    # frame; at most 2 are allowed.
    DecodeCase("step_max2", _decode_config(
        num_lstm_layers=2, lstm_layer_norm=True,
    ), T=66, seed=1505, joiner_gain=4.0, blank_logit_bias=2.0, temperature=1.0, step_max_tokens=2,
        frames_per_token=(0.5, 1.5)),
]

# emformer_rnnt_base (4097 symbols); its model.pt is ~300 MB: live test only, never committed.
# T = 84 gives 20 encoder frames (5 streaming chunks of 4): Debian's torch (generic BLAS) takes ~5 s per
# search at this size. With 4096 non-blank symbols the length-normalised ranking makes beams
# 4 and 10 emit about twice as often as greedy; no blank bias puts all six runs in (2, 10)
# (greedy emits nothing where beam 10 emits every other frame), hence the wider band.
BASE_DECODE_CASE = DecodeCase(
    "base", {"preset": "base", "num_symbols": 4097}, T=84, seed=1606, joiner_gain=8.0,
    blank_logit_bias=18.0, temperature=1.0, step_max_tokens=100, frames_per_token=(1, 10))

DECODE_CONFIGS = DECODE_CASES + [BASE_DECODE_CASE]
