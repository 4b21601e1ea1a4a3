// typenet-features --model resnet50: zoo::ResNet50Base at the sizes the tool offers.
#include <stdexcept>
#include <string>

#include "features.hpp"
#include "typenet/zoo/resnet.hpp"

namespace typenet_features {

Result features_resnet50(const Request& request) {
    if (request.size == 150) return extract_features<tn::zoo::ResNet50Base<150, 150>>(request, "resnet50");
    if (request.size == 224) return extract_features<tn::zoo::ResNet50Base<224, 224>>(request, "resnet50");
    throw std::invalid_argument("--size " + std::to_string(request.size) + ": resnet50 is built here for 150 or 224 pixels");
}

}  // namespace typenet_features
