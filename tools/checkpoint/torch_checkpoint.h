// Reads what `torch.save(model.state_dict(), path)` writes (PyTorch >= 1.6 zip
// format) without PyTorch and without executing anything from the file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ember {

struct CheckpointTensor {
    std::vector<int64_t> shape;
    std::vector<float> values;  // contiguous, row-major; f16/bf16 widened to f32
};

// Tensor name -> tensor, in name order. For a dict holding the weights under
// "state_dict" (Lightning style), that dict is returned, with a leading
// "model." stripped from every key that has it.
// Throws ember::Error naming the file and the problem on anything malformed.
std::map<std::string, CheckpointTensor> read_torch_checkpoint(const std::string& path);

// The same from bytes in memory (the fuzz target and tests use this);
// `origin` names the source in error messages.
std::map<std::string, CheckpointTensor> read_torch_checkpoint_bytes(const uint8_t* data,
                                                                    size_t size,
                                                                    const std::string& origin);

}  // namespace ember
