#include "engine/ember_file.h"

#include "kernels/kernels.h"

namespace ember {

MetadataValue MetadataValue::make_bool(bool value) {
    MetadataValue v;
    v.type = Type::boolean;
    v.boolean = value;
    return v;
}
MetadataValue MetadataValue::make_int64(int64_t value) {
    MetadataValue v;
    v.type = Type::int64;
    v.int64 = value;
    return v;
}
MetadataValue MetadataValue::make_float64(double value) {
    MetadataValue v;
    v.type = Type::float64;
    v.float64 = value;
    return v;
}
MetadataValue MetadataValue::make_string(std::string value) {
    MetadataValue v;
    v.type = Type::string;
    v.string = std::move(value);
    return v;
}
MetadataValue MetadataValue::make_float32_array(std::vector<float> values) {
    MetadataValue v;
    v.type = Type::float32_array;
    v.float32s = std::move(values);
    return v;
}
MetadataValue MetadataValue::make_int32_array(std::vector<int32_t> values) {
    MetadataValue v;
    v.type = Type::int32_array;
    v.int32s = std::move(values);
    return v;
}
MetadataValue MetadataValue::make_string_array(std::vector<std::string> values) {
    MetadataValue v;
    v.type = Type::string_array;
    v.strings = std::move(values);
    return v;
}

const char* metadata_type_name(MetadataValue::Type type) {
    switch (type) {
        case MetadataValue::Type::boolean: return "bool";
        case MetadataValue::Type::int64: return "int64";
        case MetadataValue::Type::float64: return "float64";
        case MetadataValue::Type::string: return "string";
        case MetadataValue::Type::float32_array: return "float32 array";
        case MetadataValue::Type::int32_array: return "int32 array";
        case MetadataValue::Type::string_array: return "string array";
    }
    return "unknown";
}

const char* tensor_layout_name(TensorLayout layout) {
    switch (layout) {
        case TensorLayout::float32: return "float32";
        case TensorLayout::float32_panels16: return "float32_panels16";
    }
    return "unknown";
}

int64_t stored_floats(TensorLayout layout, const std::vector<int64_t>& shape) {
    if (layout == TensorLayout::float32_panels16) return kernels::packed_linear_floats(shape[0], shape[1]);
    int64_t n = 1;
    for (int64_t dim : shape) n *= dim;
    return n;
}

int64_t TensorInfo::numel() const { return ember::stored_floats(TensorLayout::float32, shape); }

int64_t TensorInfo::stored_floats() const { return ember::stored_floats(layout, shape); }

const MetadataValue* EmberFile::find_metadata(const std::string& key) const {
    for (const auto& [name, value] : metadata)
        if (name == key) return &value;
    return nullptr;
}

const TensorInfo* EmberFile::find_tensor(const std::string& name) const {
    for (const TensorInfo& tensor : tensors)
        if (tensor.name == name) return &tensor;
    return nullptr;
}

}  // namespace ember
