"""The small Emformer RNN-T: its torchaudio config and the training-only CTC head.

The Emformer runs at width time_reduction_input_dim x time_reduction_stride
(48 x 4 = 192), not encoding_dim. CONFIG holds the 21 keyword arguments of
torchaudio.models.emformer_rnnt_model, written as config.json for ember convert.
"""

import torch
import torchaudio

NUM_SYMBOLS = 30  # 29 SentencePiece pieces + blank
BLANK = NUM_SYMBOLS - 1

CONFIG = {
    "input_dim": 80,
    "encoding_dim": 192,
    "num_symbols": NUM_SYMBOLS,
    "segment_length": 16,
    "right_context_length": 4,
    "time_reduction_input_dim": 48,
    "time_reduction_stride": 4,
    "transformer_num_heads": 4,
    "transformer_ffn_dim": 768,
    "transformer_num_layers": 6,
    "transformer_dropout": 0.1,
    "transformer_activation": "gelu",
    "transformer_left_context_length": 30,
    "transformer_max_memory_size": 0,
    "transformer_weight_init_scale_strategy": "depthwise",
    "transformer_tanh_on_mem": True,
    "symbol_embedding_dim": 192,
    "num_lstm_layers": 1,
    "lstm_layer_norm": True,
    "lstm_layer_norm_epsilon": 1e-3,
    "lstm_dropout": 0.1,
}


class Trainable(torch.nn.Module):
    """emformer_rnnt_model plus a CTC projection of the transcriber output.

    Only `rnnt` is exported; `ctc_head` exists to speed up learning.
    """

    def __init__(self, config):
        super().__init__()
        self.rnnt = torchaudio.models.emformer_rnnt_model(**config)
        self.ctc_head = torch.nn.Linear(config["encoding_dim"], config["num_symbols"])

    def forward(self, sources, source_lengths, targets, target_lengths, right_context=None):
        """sources (B, T + right context, 80), source_lengths (B,) unpadded,
        targets (B, U) int32, target_lengths (B,) int32; right_context: None,
        or each segment's own right-context frames (B, segments x right
        context, 80), as the streaming loop computes them (features.streaming_features)
        -> rnnt logits (B, T', U + 1, V), logit lengths (B,),
           ctc log-probs (T', B, V)"""
        blank = torch.full((targets.shape[0], 1), BLANK, dtype=targets.dtype)
        prepended = torch.cat([blank, targets], dim=1)
        enc, enc_lengths = self.transcribe(sources, source_lengths, right_context)
        pred, pred_lengths, _ = self.rnnt.predict(prepended, target_lengths + 1, None)
        logits, logit_lengths, _ = self.rnnt.join(enc, enc_lengths, pred, pred_lengths)
        ctc = torch.log_softmax(self.ctc_head(enc), dim=-1).transpose(0, 1)
        return logits, logit_lengths, ctc

    def transcribe(self, sources, source_lengths, right_context=None):
        """rnnt.transcribe; with right_context, the Emformer takes each
        segment's right context from it instead of from the frames after the
        segment (emformer.py _EmformerImpl._gen_right_context), so that
        training sees what streaming inference sees."""
        if right_context is None:
            return self.rnnt.transcribe(sources, source_lengths)
        transcriber = self.rnnt.transcriber  # rnnt.py _EmformerEncoder.forward
        blocks, _ = transcriber.time_reduction(transcriber.input_linear(right_context), source_lengths)
        emformer = transcriber.transformer
        emformer._gen_right_context = lambda _input: blocks.transpose(0, 1)
        try:
            return self.rnnt.transcribe(sources, source_lengths)
        finally:
            del emformer._gen_right_context
