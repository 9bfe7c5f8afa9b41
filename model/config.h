// The hyper-parameters of torchaudio.models.emformer_rnnt_model (0.13.1), all
// 21 keyword arguments under the names torchaudio gives them, plus what the
// .ember file adds around the model: the blank index, the front end and the
// vocabulary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ember {

struct EmformerRnntConfig {
    int64_t input_dim = 80;
    int64_t encoding_dim = 1024;
    int64_t num_symbols = 4097;
    int64_t segment_length = 16;        // input frames per streaming segment
    int64_t right_context_length = 4;   // input frames of look-ahead
    int64_t time_reduction_input_dim = 128;
    int64_t time_reduction_stride = 4;
    int64_t transformer_num_heads = 8;
    int64_t transformer_ffn_dim = 2048;
    int64_t transformer_num_layers = 20;
    double transformer_dropout = 0.1;                 // stored; no effect on inference
    std::string transformer_activation = "gelu";      // relu | gelu | silu
    int64_t transformer_left_context_length = 30;     // Emformer frames (after time reduction)
    int64_t transformer_max_memory_size = 0;
    std::string transformer_weight_init_scale_strategy = "depthwise";  // stored only; "" = None
    bool transformer_tanh_on_mem = true;
    int64_t symbol_embedding_dim = 512;
    int64_t num_lstm_layers = 3;
    bool lstm_layer_norm = true;
    double lstm_layer_norm_epsilon = 1e-3;
    double lstm_dropout = 0.3;                        // stored; no effect on inference

    // The Emformer's width: time_reduction_input_dim * time_reduction_stride.
    int64_t transformer_dim() const { return time_reduction_input_dim * time_reduction_stride; }
};

// emformer_rnnt_base(num_symbols): the defaults above with num_symbols set.
EmformerRnntConfig emformer_rnnt_base_config(int64_t num_symbols);

// Throws ember::Error naming the first argument that torchaudio would reject or
// that ember cannot run (non-positive sizes, heads not dividing the width,
// unknown activation, ...).
void validate_config(const EmformerRnntConfig& config);

// True when torchaudio's streaming path works for this config: segment and
// right context lengths are multiples of the stride. `why` says why not.
bool streaming_supported(const EmformerRnntConfig& config, std::string* why);

// Mirrors torchaudio's pipeline feature extraction (pipelines/rnnt_pipeline.py).
struct FrontEndConfig {
    int64_t sample_rate = 16000;
    int64_t n_fft = 400;
    int64_t hop_length = 160;
    int64_t n_mels = 80;
    int64_t right_padding = 4;        // zero frames appended in non-streaming mode
    std::vector<float> global_mean;   // (n_mels) or empty when no stats were given
    std::vector<float> global_invstddev;
};

// Everything the .ember file holds besides the tensors.
struct ModelMetadata {
    EmformerRnntConfig config;
    int64_t blank = 4096;             // torchaudio's search uses num_symbols - 1
    bool has_front_end = false;
    FrontEndConfig front_end;
    std::vector<std::string> vocabulary;  // SentencePiece pieces by id; empty if none
    std::vector<float> vocabulary_scores;
    std::vector<int32_t> vocabulary_types;  // SentencePiece piece type per id
    // What SentencePieceProcessor's unk_id(), bos_id(), eos_id(), pad_id()
    // return for the model: a piece id, or -1 when the model has no such piece.
    int64_t unk_id = -1;
    int64_t bos_id = -1;
    int64_t eos_id = -1;
    int64_t pad_id = -1;
};

}  // namespace ember
