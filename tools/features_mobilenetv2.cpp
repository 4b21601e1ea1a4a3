// typenet-features --model mobilenetv2: zoo::MobileNetV2Base at the sizes the tool offers.
#include <stdexcept>
#include <string>

#include "features.hpp"
#include "typenet/zoo/mobilenet.hpp"

namespace typenet_features {

Result features_mobilenetv2(const Request& request) {
    if (request.size == 150) return extract_features<tn::zoo::MobileNetV2Base<150, 150>>(request, "mobilenetv2_1.00_");
    if (request.size == 224) return extract_features<tn::zoo::MobileNetV2Base<224, 224>>(request, "mobilenetv2_1.00_");
    throw std::invalid_argument("--size " + std::to_string(request.size) + ": mobilenetv2 is built here for 150 or 224 pixels");
}

}  // namespace typenet_features
