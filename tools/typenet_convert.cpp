// typenet-convert: Keras HDF5 weights -> typenet safetensors, checked against the
// typenet model they are meant for.
//
//   typenet-convert --model vgg16 vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 vgg16.safetensors
//   typenet-convert --list some_weights.h5
//
// The VGG-16 file the chapter uses (Keras's VGG16(include_top=False, weights='imagenet')):
//   https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5
//   md5 6d6bbae143d832006294945121d1f1fc
// ResNet-50 (Keras's ResNet50(include_top=False, weights='imagenet'), keras/applications/resnet.py):
//   https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5
//   md5 4d473c1dd8becc155b73f8504c6f6626
// MobileNetV2 alpha 1.0 (keras/applications/mobilenet_v2.py; Keras's source lists no hash for it):
//   https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5
// Exit status: 0 done, 1 the file could not be converted (nothing written), 2 bad usage.
// If libhdf5 crashes on a damaged file, the tool first prints to stderr which file,
// layer and dataset it was reading ("typenet-convert: fatal signal SIGSEGV ... while
// reading FILE, layer L, dataset D"), then dies of that signal.
#include <cstddef>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <signal.h>
#include <unistd.h>

#include "typenet/io/keras_hdf5.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/model/summary.hpp"
#include "typenet/zoo/mobilenet.hpp"
#include "typenet/zoo/resnet.hpp"
#include "typenet/zoo/vgg.hpp"

namespace {

namespace tn = typenet;

struct Target {
    std::string_view name;
    std::string_view description;
    std::size_t (*convert)(const std::filesystem::path&, const std::filesystem::path&);
    std::size_t param_count;
};

// The input size does not change these models' weights; the default 224x224 types stand for all.
const std::vector<Target>& targets() {
    static const std::vector<Target> list{
        {"vgg16", "Keras VGG16(include_top=False): 13 convolutions", &tn::io::convert_keras_weights<tn::zoo::VGG16Base<>>,
         tn::zoo::VGG16Base<>::param_count},
        {"vgg19", "Keras VGG19(include_top=False): 16 convolutions", &tn::io::convert_keras_weights<tn::zoo::VGG19Base<>>,
         tn::zoo::VGG19Base<>::param_count},
        {"resnet50", "Keras ResNet50(include_top=False): 53 convolutions, 53 BatchNormalizations",
         &tn::io::convert_keras_weights<tn::zoo::ResNet50Base<>>, tn::zoo::ResNet50Base<>::param_count},
        {"mobilenetv2", "Keras MobileNetV2(alpha=1.0, include_top=False): 52 convolutions, 52 BatchNormalizations",
         &tn::io::convert_keras_weights<tn::zoo::MobileNetV2Base<>>, tn::zoo::MobileNetV2Base<>::param_count},
    };
    return list;
}

void usage(std::ostream& out) {
    out << "usage: typenet-convert --model NAME IN.h5 OUT.safetensors\n"
           "       typenet-convert --list IN.h5\n"
           "\n"
           "Converts Keras HDF5 weights (model.save_weights or model.save; Keras 1, 2 or Keras 3's legacy .h5 layout) into\n"
           "typenet's safetensors weights for the model NAME, after checking every layer and shape\n"
           "against it. On any mismatch it lists the problems and writes nothing.\n"
           "--list prints the layers and weight shapes the file holds.\n"
           "\n"
           "models:\n";
    for (const auto& t : targets())
        out << "  " << t.name << std::string(13 - t.name.size(), ' ') << t.description << ", "
            << tn::thousands(t.param_count) << " parameters\n";
    out << "\nVGG-16 weights for the chapter:\n"
           "  https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
           "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5\n"
           "  (md5 6d6bbae143d832006294945121d1f1fc)\n"
           "ResNet-50 and MobileNetV2 (Keras's applications, include_top=False):\n"
           "  https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
           "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5\n"
           "  (md5 4d473c1dd8becc155b73f8504c6f6626)\n"
           "  https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
           "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5\n"
           "  (Keras's source lists no md5 for it)\n";
}

int run(const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        usage(args.empty() ? std::cerr : std::cout);
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--list") {
        if (args.size() != 2) {
            std::cerr << "typenet-convert: --list takes one file\n";
            usage(std::cerr);
            return 2;
        }
        std::cout << tn::io::describe_keras_weights(tn::io::read_keras_weights(args[1], /*read_values=*/false));
        return 0;
    }
    if (args[0] == "--model") {
        if (args.size() != 4) {
            std::cerr << "typenet-convert: --model takes a model name, an input .h5 and an output .safetensors\n";
            usage(std::cerr);
            return 2;
        }
        for (const auto& t : targets()) {
            if (t.name != args[1]) continue;
            const std::size_t count = t.convert(args[2], args[3]);
            std::cout << "wrote " << args[3] << ": " << count << " tensors, " << tn::thousands(t.param_count)
                      << " parameters of " << t.name << ", from " << args[2] << "\n";
            return 0;
        }
        std::cerr << "typenet-convert: unknown model '" << args[1] << "'\n";
        usage(std::cerr);
        return 2;
    }
    std::cerr << "typenet-convert: unknown option '" << args[0] << "'\n";
    usage(std::cerr);
    return 2;
}

}  // namespace

// If libhdf5 crashes on a corrupt file, say which file and layer it was reading before
// the process dies (write(2) only: async-signal-safe), then die of the same signal.
extern "C" void report_fatal_signal(int signal_number) {
    const char* name = signal_number == SIGSEGV ? "SIGSEGV"
                       : signal_number == SIGBUS ? "SIGBUS"
                       : signal_number == SIGFPE ? "SIGFPE"
                       : signal_number == SIGILL ? "SIGILL"
                                                 : "SIGABRT";
    auto say = [](const char* text) {
        std::size_t n = 0;
        while (text[n] != '\0') ++n;
        while (n > 0) {
            const ssize_t wrote = ::write(STDERR_FILENO, text, n);
            if (wrote <= 0) return;
            text += wrote;
            n -= static_cast<std::size_t>(wrote);
        }
    };
    say("typenet-convert: fatal signal ");
    say(name);
    say(" (a crash inside libhdf5 on a damaged file?) while reading ");
    const char* position = tn::io::keras_read_position();
    say(position[0] != '\0' ? position : "(nothing yet)");
    say("\n");
    ::signal(signal_number, SIG_DFL);
    ::raise(signal_number);
}

void install_crash_report() {
    // Its own stack, so a stack overflow can still be reported.
    static char alternate_stack[64 * 1024];
    stack_t stack{};
    stack.ss_sp = alternate_stack;
    stack.ss_size = sizeof(alternate_stack);
    ::sigaltstack(&stack, nullptr);
    struct sigaction action {};
    action.sa_handler = report_fatal_signal;
    action.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    for (int signal_number : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(signal_number, &action, nullptr);
}

int main(int argc, char** argv) {
    install_crash_report();
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& error) {
        std::cerr << "typenet-convert: " << error.what() << "\n";
        return 1;
    }
}
