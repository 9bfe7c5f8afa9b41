"""torchaudio's RNNTBundle pipeline around any emformer_rnnt_model, for the end-to-end tests.

Non-streaming: get_feature_extractor -> RNNTBeamSearch.forward -> token
processor. Streaming: the pipeline's streaming loop (segments -> streaming
feature extractor -> infer with state and the best hypothesis -> token
processor with lstrip=False, appended, stripped at the end). With
carry_predictor, infer's _init_b_hypos is replaced by one that starts from the
seed hypothesis's own predictor output and state instead of feeding its last
token again: what ember's --carry-predictor does. With carry="beam", the
chunks go through the transcriber as the streaming loop has them
(transcribe_streaming, state carried) and one _search runs over all their
encoder frames at once: what ember's --carry-beam gives.
"""

import torch
import torchaudio
from torchaudio.models import RNNTBeamSearch
from torchaudio.models import rnnt_decoder
from torchaudio.pipelines import rnnt_pipeline

SAMPLE_RATE = 16000
HOP = 160


def load_16k(path):
    """torchaudio.load, channels averaged, resampled to 16 kHz."""
    waveform, rate = torchaudio.load(path)
    waveform = waveform.mean(0)
    return torchaudio.functional.resample(waveform, rate, SAMPLE_RATE)


def feature_modules(stats_path, right_padding):
    """RNNTBundle.get_feature_extractor / get_streaming_feature_extractor, with these stats."""
    def chain(pad):
        modules = [
            torchaudio.transforms.MelSpectrogram(sample_rate=SAMPLE_RATE, n_fft=400, n_mels=80, hop_length=HOP),
            rnnt_pipeline._FunctionalModule(lambda x: x.transpose(1, 0)),
            rnnt_pipeline._FunctionalModule(lambda x: rnnt_pipeline._piecewise_linear_log(x * rnnt_pipeline._gain)),
            rnnt_pipeline._GlobalStatsNormalization(stats_path),
        ]
        if pad:
            modules.append(rnnt_pipeline._FunctionalModule(
                lambda x: torch.nn.functional.pad(x, (0, 0, 0, right_padding))))
        return rnnt_pipeline._ModuleFeatureExtractor(torch.nn.Sequential(*modules))
    return chain(True), chain(False)


def carry_predictor(decoder):
    """decoder, seeded searches starting from the seed's predictor output and state as they are."""
    init_b_hypos = decoder._init_b_hypos

    def seeded(hypo, device):
        if hypo is None:
            return init_b_hypos(hypo, device)
        return [([rnnt_decoder._get_hypo_tokens(hypo)[-1]], rnnt_decoder._get_hypo_predictor_out(hypo),
                 rnnt_decoder._get_hypo_state(hypo), 0.0)]

    decoder._init_b_hypos = seeded
    return decoder


def pipeline_text(model, config, extractors, token_processor, waveform, beam, streaming, carry=None):
    """carry: None (torchaudio's search), "predictor" or "beam" (streaming only)."""
    full, streaming_extractor = extractors
    decoder = RNNTBeamSearch(model, config["num_symbols"] - 1)
    if carry == "predictor":
        carry_predictor(decoder)
    with torch.no_grad():
        if not streaming:
            features, length = full(waveform)
            hypos = decoder(features, length, beam)
            return token_processor(hypos[0][0])
        step = config["segment_length"] * HOP
        window = (config["segment_length"] + config["right_context_length"]) * HOP
        state, hypothesis, transcript, encoded = None, None, "", []
        for i in range(0, len(waveform), step):
            segment = waveform[i:i + window]
            segment = torch.nn.functional.pad(segment, (0, window - len(segment)))
            features, length = streaming_extractor(segment)
            if carry == "beam":
                out, _, state = model.transcribe_streaming(features.unsqueeze(0), length, state)
                encoded.append(out)
                continue
            hypos, state = decoder.infer(features, length, beam, state=state, hypothesis=hypothesis)
            hypothesis = hypos[0]
            transcript += token_processor(hypothesis[0], lstrip=False)
        if carry == "beam":
            hypos = decoder._search(torch.cat(encoded, dim=1), None, beam)
            return token_processor(hypos[0][0], lstrip=False).strip()
        return transcript.strip()
