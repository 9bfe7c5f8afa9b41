// The one list of the model's tensors: names (torchaudio state_dict keys) and
// shapes derived from the config. `ember convert` writes exactly these, the
// loader accepts exactly these.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/config.h"

namespace ember {

struct TensorSpec {
    std::string name;            // e.g. "transcriber.transformer.emformer_layers.0.attention.emb_to_query.weight"
    std::vector<int64_t> shape;  // as torch reports it, e.g. {out_features, in_features}
    // A torch.nn.Linear weight, used only through ops::linear: `ember convert`
    // stores it in panels (TensorLayout::float32_panels16), and the loader
    // takes it in either layout. Every other tensor is row-major float32.
    bool linear_weight = false;
};

std::vector<TensorSpec> emformer_rnnt_tensors(const EmformerRnntConfig& config);

// "[512, 80]"
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace ember

namespace ember {

// Compares the tensors a file or checkpoint holds (name -> shape) with the
// list the config expects; throws one ember::Error listing every missing,
// unexpected and misshaped tensor (`origin` names the file).
void check_tensor_shapes(const std::vector<TensorSpec>& expected,
                         const std::map<std::string, std::vector<int64_t>>& provided,
                         const std::string& origin);

}  // namespace ember
