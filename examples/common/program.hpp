// examples/common/program.hpp
// The frame of every experiment program: parse the shared flags, pick the setting (the
// book's with --data, the embedded default without), say so in one line, run the body on
// an Experiment of that setting, and turn any exception into "error: ..." and exit 1.
//
//   return examples::run_experiment(options, "model A", [](auto& exp) {
//       using S = typename std::remove_reference_t<decltype(exp)>::setting;
//       examples::train_in_memory<S, typename S::BasicCNN>(exp, examples::ModelId::A);
//   });
#pragma once

#include <exception>
#include <iostream>
#include <string>
#include <type_traits>
#include <utility>

#include "common/experiment.hpp"
#include "common/options.hpp"
#include "common/setting.hpp"
#include "typenet/backend/cpu/parallel.hpp"

namespace examples {

template <class Setting>
std::string setting_line(const Experiment<Setting>& exp) {
    if constexpr (!std::is_same_v<Setting, FashionSetting>)
        return "the book's experiment: " +
               (exp.options().data ? "cats vs dogs from " + exp.options().data->string() + ", " : std::string()) +
               "150x150 RGB, " + std::string(Setting::backbone_title);
    else
        return "the embedded default: Fashion-MNIST T-shirt/top vs Shirt, 28x28 grey, " +
               std::string(Setting::backbone_title) + " (not the cats-vs-dogs experiment; --data DIR runs that)";
}

// Runs `body` on an Experiment of the given setting.
template <class Setting, class Body>
int run_in(const ExperimentOptions& options, const std::string& what, Body&& body) {
    try {
        Experiment<Setting> exp(options);
        std::cout << "typenet, chapter 5, " << what << ": " << setting_line(exp) << "; " << typenet::cpu_threads()
                  << " CPU threads; output in " << exp.out().string() << std::endl;
        body(exp);
        return 0;
    } catch (const std::exception& e) {
        std::cout.flush();
        std::cerr << "error: " << e.what() << std::endl;
        distributed().abort_all(1);  // under mpirun: the other ranks stop too
        return 1;
    }
}

// The book's setting with --data, the embedded default without.
template <class Body>
int run_experiment(const ExperimentOptions& options, const std::string& what, Body&& body) {
    if (options.book()) return run_in<BookSetting>(options, what, body);
    return run_in<FashionSetting>(options, what, body);
}

// The book's setting for --backbone (vgg16, resnet50, mobilenetv2), handed to `body` as a
// type (std::type_identity<Setting>): models D, E and F, evaluate and chapter5. The other
// backbones' models are compiled apart (examples/backbones/, declared `extern template` by
// each program); a build without them (TYPENET_EXAMPLE_BACKBONES off) refuses the flag when
// parsing it and never names their settings here.
template <class Body>
decltype(auto) with_book_backbone(const std::string& backbone, Body&& body) {
#if TYPENET_EXAMPLE_BACKBONES
    if (backbone == "resnet50") return body(std::type_identity<ResNet50Setting>{});
    if (backbone == "mobilenetv2") return body(std::type_identity<MobileNetV2Setting>{});
#else
    (void)backbone;
#endif
    return body(std::type_identity<BookSetting>{});
}

// run_experiment for the programs that take --backbone.
template <class Body>
int run_with_backbone(const ExperimentOptions& options, const std::string& what, Body&& body) {
    if (!options.book()) return run_in<FashionSetting>(options, what, body);
    return with_book_backbone(options.backbone, [&](auto setting) {
        return run_in<typename decltype(setting)::type>(options, what, body);
    });
}

}  // namespace examples
