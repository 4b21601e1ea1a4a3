// typenet/data/preprocessing.hpp
// How pixels are prepared for a network, chosen together with its (pretrained) weights:
//
//   Preprocessing::rescale   RGB (or grey) scaled by 1/255 into [0, 1] (Keras's
//                            rescale=1./255). What most Keras tutorials feed every model,
//                            a pretrained VGG-16 included.
//   Preprocessing::caffe     Keras's keras.applications.vgg16.preprocess_input ('caffe'
//                            mode): RGB turned into BGR, then the ImageNet channel means
//                            103.939 (B), 116.779 (G), 123.68 (R) subtracted, no scaling.
//                            What the ImageNet weights were trained on: use it to get
//                            the backbone's features as its authors meant them.
//                            ResNet-50's too (keras.applications.resnet.preprocess_input).
//   Preprocessing::tf        Keras's 'tf' mode (keras.applications.mobilenet_v2.preprocess_input):
//                            x / 127.5 - 1, into [-1, 1], any number of channels.
//
// Both start from pixels in 0..255, RGB, as the loaders give them with rescale = 1:
//
//   auto set = load_image_set(dir, {.size = {150, 150, 3}, .rescale = 1.0f});   // 0..255
//   preprocess_input(set.images.data(), set.images.size(), 3, Preprocessing::caffe);
//
//   ImageArraySource augmented(raw, labels, {.generator = {.rescale = 1.0f, ...}});
//   PreprocessedSource train(augmented, Preprocessing::caffe);   // after augmentation, as Keras
//
// Keras applies a generator's preprocessing_function after the random transform; so does
// PreprocessedSource, which wraps any source of 0..255 pixels. Caffe mode needs 3 channels.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "typenet/data/batch_source.hpp"

namespace typenet {

enum class Preprocessing { rescale, caffe, tf };

// ImageNet's mean pixel in Keras's caffe mode, in BGR order (keras_applications/imagenet_utils.py).
inline constexpr std::array<float, 3> caffe_bgr_mean{103.939f, 116.779f, 123.68f};

inline std::string_view to_string(Preprocessing mode) {
    return mode == Preprocessing::caffe ? "caffe" : mode == Preprocessing::tf ? "tf" : "rescale";
}

// One line for logs and reports.
inline std::string describe(Preprocessing mode) {
    if (mode == Preprocessing::caffe)
        return "caffe (Keras vgg16.preprocess_input: RGB to BGR, minus ImageNet means 103.939/116.779/123.68, "
               "no scaling)";
    if (mode == Preprocessing::tf) return "tf (Keras mobilenet_v2.preprocess_input: x / 127.5 - 1)";
    return "rescale (RGB scaled by 1/255)";
}

// "rescale", "caffe" or "tf"; anything else throws std::invalid_argument naming the choices.
inline Preprocessing parse_preprocessing(std::string_view name) {
    if (name == "rescale") return Preprocessing::rescale;
    if (name == "caffe") return Preprocessing::caffe;
    if (name == "tf") return Preprocessing::tf;
    throw std::invalid_argument("unknown preprocessing '" + std::string(name) +
                                "': use 'rescale' (RGB / 255), 'caffe' (Keras VGG-16 / ResNet-50 "
                                "preprocess_input: BGR minus the ImageNet means) or 'tf' (Keras "
                                "MobileNetV2 preprocess_input: x / 127.5 - 1)");
}

// Whether a mode can prepare images of `channels` channels (caffe needs RGB).
inline bool supports(Preprocessing mode, std::size_t channels) {
    return mode != Preprocessing::caffe || channels == 3;
}

// In place: `count` floats of HWC pixels (any number of images) with `channels` channels,
// from 0..255 RGB to what `mode` makes of them.
inline void preprocess_input(float* pixels, std::size_t count, std::size_t channels, Preprocessing mode) {
    if (channels == 0 || count % channels != 0)
        throw std::invalid_argument("preprocess_input: " + std::to_string(count) +
                                    " values are not a whole number of pixels of " + std::to_string(channels) +
                                    " channels");
    if (!supports(mode, channels))
        throw std::invalid_argument("preprocess_input: caffe mode swaps RGB to BGR and needs 3 channels, the "
                                    "images have " + std::to_string(channels));
    if (mode == Preprocessing::rescale) {
        constexpr float scale = 1.0f / 255.0f;
        for (std::size_t i = 0; i < count; ++i) pixels[i] *= scale;
        return;
    }
    if (mode == Preprocessing::tf) {
        // Divided, not multiplied by 1/127.5: the same float32 rounding as Keras's x /= 127.5.
        for (std::size_t i = 0; i < count; ++i) pixels[i] = pixels[i] / 127.5f - 1.0f;
        return;
    }
    for (std::size_t i = 0; i < count; i += 3) {
        const float r = pixels[i], g = pixels[i + 1], b = pixels[i + 2];
        pixels[i] = b - caffe_bgr_mean[0];
        pixels[i + 1] = g - caffe_bgr_mean[1];
        pixels[i + 2] = r - caffe_bgr_mean[2];
    }
}

// Batches of another source (pixels 0..255), preprocessed on the way out. The wrapped
// source must outlive this one; epochs, order and labels are the wrapped source's.
class PreprocessedSource final : public BatchSource {
public:
    PreprocessedSource(BatchSource& source, Preprocessing mode, std::size_t channels)
        : source_(&source), mode_(mode), channels_(channels) {
        if (channels == 0 || source.sample_size() % channels != 0)
            throw std::invalid_argument("PreprocessedSource: samples of " + std::to_string(source.sample_size()) +
                                        " floats are not images of " + std::to_string(channels) + " channels");
        if (!supports(mode, channels))
            throw std::invalid_argument("PreprocessedSource: caffe mode needs RGB images (3 channels), these have " +
                                        std::to_string(channels));
    }

    std::size_t size() const override { return source_->size(); }
    std::size_t sample_size() const override { return source_->sample_size(); }
    std::size_t label_size() const override { return source_->label_size(); }
    void start_epoch(std::uint64_t epoch) override { source_->start_epoch(epoch); }
    bool set_shard(const Shard& shard) override { return source_->set_shard(shard); }

    std::size_t next_batch(float* x, float* y, std::size_t max_batch) override {
        const std::size_t n = source_->next_batch(x, y, max_batch);
        preprocess_input(x, n * sample_size(), channels_, mode_);
        return n;
    }

    Preprocessing mode() const { return mode_; }

private:
    BatchSource* source_;
    Preprocessing mode_;
    std::size_t channels_;
};

}  // namespace typenet
