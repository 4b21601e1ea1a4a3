// typenet-features --model vgg16: zoo::VGG16Base at the sizes the tool offers.
#include <stdexcept>
#include <string>

#include "features.hpp"
#include "typenet/zoo/vgg.hpp"

namespace typenet_features {

Result features_vgg16(const Request& request) {
    if (request.size == 150) return extract_features<tn::zoo::VGG16Base<150, 150>>(request, "vgg16");
    if (request.size == 224) return extract_features<tn::zoo::VGG16Base<224, 224>>(request, "vgg16");
    throw std::invalid_argument("--size " + std::to_string(request.size) + ": vgg16 is built here for 150 or 224 pixels");
}

}  // namespace typenet_features
