"""torchaudio 0.13.1 reference for the RNN-T beam search (`ember decode`) parity tests.

A decode case is a directory holding what `ember convert` and `ember decode` read
(model.pt, config.json, features.npy, written by reference.write_inputs) and
expected_decode.json: what torchaudio's RNNTBeamSearch returned for every beam in
BEAMS, non-streaming and streaming:

    {"name", "seed", "blank", "temperature", "step_max_tokens", "frames_per_token": [lo, hi],
     "smallest_relative_gap",
     "runs": [{"beam", "streaming", "encoder_frames", "emitted", "step_max_tokens_hits",
               "hypotheses": [{"tokens": [...], "score": s}, ...]      (non-streaming)
               "chunks": [{"hypotheses": [...]}, ...]                   (streaming)}]}

Non-streaming: RNNTBeamSearch.forward(features, tensor([T]), beam), features (T, input_dim)
2-D (forward also takes (1, T, D); it unsqueezes a 2-D input itself).
Streaming: reference.streaming_chunks (chunk k = rows [k*seg, k*seg + seg + rc), zero-padded),
each passed as infer(chunk, tensor([seg + rc]), beam, state=state, hypothesis=hypothesis),
carrying the returned transcriber `state` and, as `hypothesis`, the first (best) element of
the returned list, as torchaudio's own example does (pipelines/rnnt_pipeline.py, RNNTBundle
docstring: `hypothesis = hypotheses[0]`). infer seeds the next search with a one-token
hypothesis [last token of that best], score 0.0, so each chunk's lists start afresh.

`tokens` are exactly as the hypothesis holds them (leading blank or seed token included);
`score` is the hypothesis's score, a Python float (every one is a float32 value), written with
repr so it round-trips. `emitted` counts the best hypothesis's tokens beyond the leading one,
summed over chunks when streaming; `encoder_frames` is the number of encoder frames searched.

Ties: torch's topk and sort break exact ties arbitrarily, and a C++ search that rounds
differently by an ulp could flip a near-tie. RecordingBeamSearch records, for every decision
that compares scores, how close it came (relative gap |a - b| / max(1, |a|, |b|)); a case whose
smallest gap is below TIE_GAP is rejected and the next seed tried.
"""

import json
import math
import os

import torch
from torchaudio.models import RNNTBeamSearch
from torchaudio.models import rnnt_decoder

import reference

BEAMS = (1, 4, 10)
# Smallest relative gap allowed between two scores a decision compares. ember's float32 path
# differs from torch's by rounding (~1e-6 relative per logit); over <= 60 frames a score drifts
# by ~1e-5 absolute, ~1e-6 relative to scores of -10 to -100: 1e-5 leaves a margin of ~10 and
# is met by most seeds (random-weight searches over 10 hypotheses have many close calls).
TIE_GAP = 1e-5
SEED_ATTEMPTS = 8
SEED_STEP = 100  # attempt i uses seed + i * SEED_STEP (features: that seed + 1, as write_case)


def _relative_gap(a, b):
    return abs(a - b) / max(1.0, abs(a), abs(b))


class RecordingBeamSearch(RNNTBeamSearch):
    """RNNTBeamSearch that, without changing the search, records
    - smallest_gap: the closest call among the decisions that compare scores:
        * in _gen_a_hypos, the beam cut of the top-k non-blank extensions (k-th vs (k+1)-th
          best, when the k-th passes b_nbest_score) and each of the top k against
          b_nbest_score (the strict `score > b_nbest_score` test);
        * at the end of each frame, the normalised scores (score / (len(tokens) + 1), as
          float32) the frame's final topk compares: k-th vs (k+1)-th best (the cut) and, on
          the last frame of a search, whose order is the returned list's order, every
          consecutive pair of the top k + 1. On earlier frames the order within the beam
          does not change the result: the next frame's b_hypos are re-sorted by score, and
          each token sequence's blank paths merge in a fixed order (a sequence of length L
          is only ever an a-hypothesis in one round of a frame besides the first);
    - limit_hits: frames where step_max_tokens ended the symbol loop. A frame's loop calls
      _gen_b_hypos then _gen_a_hypos until the latter returns nothing, so the two are called
      equally often, unless `symbols_current_t == step_max_tokens` broke out between them."""

    def __init__(self, model, blank, temperature, step_max_tokens):
        super().__init__(model, blank, temperature=temperature, step_max_tokens=step_max_tokens)
        self.hypo_sort_key = self._recording_sort_key
        self.smallest_gap = math.inf
        self.limit_hits = 0
        self._beam = 0
        self._keys = []
        self._b_calls = 0
        self._a_calls = 0

    def _note(self, a, b):
        self.smallest_gap = min(self.smallest_gap, _relative_gap(a, b))

    def _recording_sort_key(self, hypo):
        key = rnnt_decoder._default_hypo_sort_key(hypo)
        self._keys.append(key)
        return key

    def _end_frame(self, last):
        keys = torch.tensor(self._keys).sort(descending=True).values.tolist()[: self._beam + 1]
        if last:
            for a, b in zip(keys, keys[1:]):
                self._note(a, b)
        elif len(keys) > self._beam:
            self._note(keys[-2], keys[-1])
        if self._b_calls > self._a_calls:
            self.limit_hits += 1
        self._keys, self._b_calls, self._a_calls = [], 0, 0

    def _gen_b_hypos(self, b_hypos, a_hypos, next_token_probs, key_to_b_hypo):
        if not key_to_b_hypo and self._keys:  # first call of a frame after the first
            self._end_frame(last=False)
        self._b_calls += 1
        return super()._gen_b_hypos(b_hypos, a_hypos, next_token_probs, key_to_b_hypo)

    def _gen_a_hypos(self, a_hypos, b_hypos, next_token_probs, t, beam_width, device):
        self._a_calls += 1
        hypo_scores = torch.tensor([h[3] for h in a_hypos]).unsqueeze(1)
        candidates = (hypo_scores + next_token_probs[:, :-1]).reshape(-1)
        top = candidates.topk(min(beam_width + 1, candidates.numel())).values.tolist()
        b_nbest = -math.inf if len(b_hypos) < beam_width else b_hypos[-beam_width][3]
        if len(top) > beam_width and top[beam_width - 1] > b_nbest:
            self._note(top[beam_width - 1], top[beam_width])
        if b_nbest > -math.inf:
            for score in top[:beam_width]:
                self._note(score, b_nbest)
        return super()._gen_a_hypos(a_hypos, b_hypos, next_token_probs, t, beam_width, device)

    def _search(self, enc_out, hypo, beam_width):
        self._beam = beam_width
        self._keys, self._b_calls, self._a_calls = [], 0, 0
        hypos = super()._search(enc_out, hypo, beam_width)
        self._end_frame(last=True)
        return hypos


def _as_json(hypos):
    return [{"tokens": list(h[0]), "score": float(h[3])} for h in hypos]


def reference_decode(model, features, config, beam, temperature, step_max_tokens, streaming):
    """One run of torchaudio's beam search; returns (run dict for expected_decode.json,
    smallest relative gap)."""
    kw = reference.resolve(config)
    search = RecordingBeamSearch(model, kw["num_symbols"] - 1, temperature, step_max_tokens)
    run = {"beam": beam, "streaming": streaming}
    with torch.no_grad():
        if not streaming:
            T = features.shape[0]
            hypos = search(torch.from_numpy(features), torch.tensor([T]), beam)
            stride = kw["time_reduction_stride"]
            run["encoder_frames"] = T // stride - kw["right_context_length"] // stride
            run["emitted"] = len(hypos[0][0]) - 1
            run["step_max_tokens_hits"] = search.limit_hits
            run["hypotheses"] = _as_json(hypos)
        else:
            seg, rc = kw["segment_length"], kw["right_context_length"]
            state, hypothesis, chunks = None, None, []
            for chunk in reference.streaming_chunks(features, config):
                hypos, state = search.infer(torch.from_numpy(chunk), torch.tensor([seg + rc]), beam,
                                            state=state, hypothesis=hypothesis)
                hypothesis = hypos[0]
                chunks.append({"hypotheses": _as_json(hypos)})
            run["encoder_frames"] = len(chunks) * (seg // kw["time_reduction_stride"])
            run["emitted"] = sum(len(c["hypotheses"][0]["tokens"]) - 1 for c in chunks)
            run["step_max_tokens_hits"] = search.limit_hits
            run["chunks"] = chunks
    return run, search.smallest_gap


def _decode_all(model, features, case):
    """All runs of a case (BEAMS x non-streaming/streaming) and their smallest gap."""
    runs, smallest = [], math.inf
    for beam in BEAMS:
        for streaming in (False, True):
            run, gap = reference_decode(model, features, case.config, beam, case.temperature,
                                        case.step_max_tokens, streaming)
            runs.append(run)
            smallest = min(smallest, gap)
    return runs, smallest


def check_emission(case, runs):
    """Raises when the best hypothesis of some run emits outside case.frames_per_token."""
    lo, hi = case.frames_per_token
    for run in runs:
        rate = run["encoder_frames"] / run["emitted"] if run["emitted"] else math.inf
        if not lo <= rate <= hi:
            mode = "streaming" if run["streaming"] else "full"
            raise ValueError(f"{case.name}: beam {run['beam']} {mode}: {run['emitted']} tokens in "
                             f"{run['encoder_frames']} frames ({rate:.2f} frames/token), want "
                             f"[{lo}, {hi}]: retune blank_logit_bias")


def check_step_max_tokens(case, model, features, runs):
    """For a case with a small step_max_tokens: raises unless the limit ended some frame's
    symbol loop in every run and changed the result of at least one (compared with
    torchaudio's default of 100)."""
    if case.step_max_tokens >= 100:
        return
    missed = [r for r in runs if r["step_max_tokens_hits"] == 0]
    if missed:
        raise ValueError(f"{case.name}: step_max_tokens {case.step_max_tokens} never reached in "
                         f"{[(r['beam'], r['streaming']) for r in missed]}")
    unlimited = [reference_decode(model, features, case.config, r["beam"], case.temperature, 100,
                                  r["streaming"])[0] for r in runs]
    same = [r.get("hypotheses") == u.get("hypotheses") and r.get("chunks") == u.get("chunks")
            for r, u in zip(runs, unlimited)]
    if all(same):
        raise ValueError(f"{case.name}: step_max_tokens {case.step_max_tokens} changes no result")


def write_decode_case(dir, case):
    """Writes DIR/<case.name>/{model.pt, config.json, features.npy, expected_decode.json},
    trying seeds until no decision is a near-tie; returns (case directory, expected dict)."""
    kw = reference.resolve(case.config)
    for attempt in range(SEED_ATTEMPTS):
        seed = case.seed + attempt * SEED_STEP
        model = reference.build_model(case.config, seed, joiner_gain=case.joiner_gain,
                                      blank_logit_bias=case.blank_logit_bias)
        features = reference.random_features(case.T, kw["input_dim"], seed + 1)
        runs, smallest = _decode_all(model, features, case)
        if smallest > TIE_GAP:
            break
        print(f"[{case.name}] seed {seed}: near-tie (relative gap {smallest:.1e}), trying the next seed")
    else:
        raise ValueError(f"{case.name}: near-ties with {SEED_ATTEMPTS} seeds")
    check_emission(case, runs)
    check_step_max_tokens(case, model, features, runs)

    case_dir = os.path.join(dir, case.name)
    reference.write_inputs(case_dir, model, case.config, features)
    expected = {
        "name": case.name,
        "seed": seed,
        "blank": kw["num_symbols"] - 1,
        "temperature": case.temperature,
        "step_max_tokens": case.step_max_tokens,
        "frames_per_token": list(case.frames_per_token),
        "smallest_relative_gap": smallest,
        "runs": runs,
    }
    with open(os.path.join(case_dir, "expected_decode.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    return case_dir, expected
