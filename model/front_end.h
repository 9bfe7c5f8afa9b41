// The audio front end: waveform -> the features the transcriber reads, exactly
// as torchaudio 0.13.1's EMFORMER_RNNT_BASE pipeline extracts them
// (pipelines/rnnt_pipeline.py, RNNTBundle.get_feature_extractor and
// get_streaming_feature_extractor):
//
//   MelSpectrogram(sample_rate, n_fft, n_mels, hop_length)   (n_mels, frames)
//       periodic Hann window of n_fft, center=True with reflect padding of
//       n_fft/2 on both sides, power 2, HTK mel scale from 0 Hz to
//       sample_rate/2, no filter normalisation, filterbank built in float32 as
//       torchaudio's melscale_fbanks does
//   transpose                                                (frames, n_mels)
//   _piecewise_linear_log(x * gain), gain = 32767^2 (torchaudio's 10^(0.05 * 2 * 20 * log10(32767))):
//       ln x       for x > e^e
//       ln(x) / e  for e < x <= e^e  (its two in-place statements compose)
//       x / e      for x <= e
//   (x - global_mean) * global_invstddev    only when the config has global
//                                           stats; without them, the identity
//   non-streaming only: right_padding zero frames appended
//
// A waveform of N samples gives 1 + (N + 2 * (n_fft/2) - n_fft) / hop frames
// (1 + N / hop for even n_fft).
//
// Short audio: torch's reflect padding needs more than n_fft/2 samples and
// raises otherwise. ember does the same: extract_features and
// extract_segment_features throw ember::Error for N <= n_fft/2 (and for N == 0)
// rather than inventing features torchaudio never produces. The streaming
// front end zero-pads every segment to full length, so any non-empty stream
// works there, as in torchaudio's streaming loop.
//
// Streaming, as the pipeline's streaming loop: segment k holds samples
// [k * S, k * S + W) with S = segment_length * hop and
// W = (segment_length + right_context_length) * hop, zero-padded at the end,
// for k < ceil(N / S); each is turned into features on its own (no right
// padding): feature_frames(W) frames per segment.
//
//   StreamingFrontEnd stream = make_streaming_front_end(config, segment_length, right_context_length);
//   while (more audio) {
//       const float* p = piece; int64_t left = piece_size;
//       while (left > 0) {                        // accept takes what fits before the next segment
//           const int64_t used = accept(stream, p, left);
//           p += used, left -= used;
//           while (next_segment(stream)) use(stream.features);  // (stream.frames, n_mels)
//       }
//   }
//   finish(stream);
//   while (next_segment(stream)) use(stream.features);  // the zero-padded tail segments
//
// Splitting the waveform differently gives the same segments. Nothing is
// allocated after make_streaming_front_end.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/fft.h"
#include "model/config.h"

namespace ember {

// Features of one waveform, row-major.
struct Features {
    int64_t frames = 0, dim = 0;
    std::vector<float> values;  // (frames, dim)
};

// Throws ember::Error naming the first setting torchaudio's front end would
// reject or ember cannot run (non-positive sizes, negative right padding,
// global stats not both absent or both n_mels long).
void validate_front_end_config(const FrontEndConfig& config);

// Frames of features for `samples` samples (without right padding), or 0 when
// the audio is too short for the reflect padding.
int64_t feature_frames(const FrontEndConfig& config, int64_t samples);

// Non-streaming (get_feature_extractor): feature_frames(count) + right_padding
// frames, the last right_padding of them zero.
Features extract_features(const FrontEndConfig& config, const float* samples, int64_t count);
// One streaming segment (get_streaming_feature_extractor): no right padding.
Features extract_segment_features(const FrontEndConfig& config, const float* samples, int64_t count);

// What the front end derives from its settings once, and its scratch (one
// FrontEnd per thread).
struct FrontEnd {
    FrontEndConfig config;
    kernels::FftPlan fft;
    std::vector<float> window;              // (n_fft) periodic Hann, as torch.hann_window
    std::vector<float> mel_weights;         // (n_mels, n_fft/2 + 1): melscale_fbanks transposed
    std::vector<int64_t> band_begin;        // (n_mels) first non-zero weight of each filter
    std::vector<int64_t> band_end;          // (n_mels) one past the last
    float gain = 0.0f;                      // 32767^2 rounded to float, as torch multiplies
    std::vector<float> frame;               // (n_fft) scratch: one windowed frame
    std::vector<float> power;               // (n_fft/2 + 1) scratch: its power spectrum
    std::vector<double> fft_work;           // (fft.work_size) scratch
};

// Validates the config (validate_front_end_config) and builds the tables.
FrontEnd make_front_end(const FrontEndConfig& config);

// out (feature_frames(count), n_mels) = the normalised log-mel features of
// samples (count), without right padding. Throws ember::Error for audio too
// short for the reflect padding. Allocates nothing.
void compute_features(FrontEnd& front_end, const float* samples, int64_t count, float* out);

// The streaming front end: cuts the incoming waveform into segments and turns
// each into features. See the usage example at the top of this file.
struct StreamingFrontEnd {
    FrontEnd front_end;
    int64_t segment_samples = 0;  // S = segment_length * hop: step between segment starts
    int64_t window_samples = 0;   // W = (segment_length + right_context_length) * hop
    int64_t frames = 0;           // feature frames per segment: feature_frames(W)
    std::vector<float> buffer;    // (W) samples from the next segment's start on
    int64_t buffered = 0;         // valid samples in buffer
    bool finished = false;        // finish() was called: no more samples come
    int64_t segments = 0;         // segments yielded so far
    std::vector<float> features;  // (frames, n_mels): the segment next_segment yielded last
};

// segment_length and right_context_length in feature frames, from the model's
// EmformerRnntConfig. Throws ember::Error for a bad config, a segment length
// below 1, a negative right context, or segments too short for the reflect
// padding (W <= n_fft/2).
StreamingFrontEnd make_streaming_front_end(const FrontEndConfig& config, int64_t segment_length,
                                           int64_t right_context_length);

// Takes samples until the next segment is complete; returns how many it took
// (fewer than count when a complete segment waits for next_segment, 0 when
// count is 0). Throws ember::Error after finish().
int64_t accept(StreamingFrontEnd& stream, const float* samples, int64_t count);

// The input has ended: the segments that start before its end become
// available, zero-padded.
void finish(StreamingFrontEnd& stream);

// When a segment is complete (or, after finish, any segment is left), computes
// its features into stream.features, drops the segment's first S samples and
// returns true; otherwise returns false.
bool next_segment(StreamingFrontEnd& stream);

// Ready for a new waveform; keeps the tables and buffers.
void reset(StreamingFrontEnd& stream);

}  // namespace ember
