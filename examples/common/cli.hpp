// examples/common/cli.hpp
// The example programs' shared flags (docs/architecture.md, Programs): --data DIR, --out DIR,
// --epochs N, --batch-size N, --seed N, --weights FILE, --summary, --threads N, plus
// whatever a program adds. Unknown flags and malformed values stop with a message.
// Every program also takes --conv-algorithm NAME (tn::set_conv_algorithm, applied here).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "typenet/backend/conv_algorithm.hpp"
#include "common/distributed.hpp"

namespace examples {

inline constexpr const char* conv_algorithm_usage =
    "  --conv-algorithm A    CPU convolutions: automatic (default), im2col, winograd, winograd_fast\n"
    "                        (faster, 2-8x the rounding error) or direct; docs/training.md\n";

class CommandLine {
public:
    // `valued`: flags taking a value; `switches`: flags without one. `usage` is printed on --help.
    CommandLine(int argc, char** argv, std::string usage, std::vector<std::string> valued,
                std::vector<std::string> switches = {})
        : usage_(std::move(usage) + conv_algorithm_usage) {
        distributed();  // under mpirun: MPI and each rank's thread count, before --threads is read
        valued.push_back("conv-algorithm");
        auto known = [](const std::vector<std::string>& list, std::string_view flag) {
            for (const auto& f : list)
                if (f == flag) return true;
            return false;
        };
        for (int i = 1; i < argc; ++i) {
            std::string arg = argv[i];
            if (arg == "--help" || arg == "-h") {
                std::cout << usage_;
                std::exit(0);
            }
            if (arg.rfind("--", 0) != 0) {
                positional_.push_back(arg);
                continue;
            }
            std::string value;
            if (const auto eq = arg.find('='); eq != std::string::npos) {
                value = arg.substr(eq + 1);
                arg = arg.substr(0, eq);
            }
            const std::string name = arg.substr(2);
            if (known(switches, name)) {
                values_[name] = "1";
            } else if (known(valued, name)) {
                if (value.empty()) {
                    if (i + 1 >= argc) fail("flag --" + name + " needs a value");
                    value = argv[++i];
                }
                values_[name] = value;
            } else {
                fail("unknown flag " + arg);
            }
        }
        if (has("conv-algorithm")) {
            try {
                typenet::set_conv_algorithm(typenet::parse_conv_algorithm(text("conv-algorithm"), "--conv-algorithm"));
            } catch (const std::exception& e) {
                fail(e.what());
            }
        }
    }

    [[nodiscard]] bool has(const std::string& name) const { return values_.count(name) != 0; }
    [[nodiscard]] std::string text(const std::string& name, const std::string& fallback = "") const {
        const auto it = values_.find(name);
        return it == values_.end() ? fallback : it->second;
    }
    [[nodiscard]] long long integer(const std::string& name, long long fallback) const {
        if (!has(name)) return fallback;
        const std::string& v = values_.at(name);
        char* end = nullptr;
        const long long n = std::strtoll(v.c_str(), &end, 10);
        if (end == v.c_str() || *end != '\0') fail("--" + name + " takes an integer, got '" + v + "'");
        return n;
    }
    [[nodiscard]] double number(const std::string& name, double fallback) const {
        if (!has(name)) return fallback;
        const std::string& v = values_.at(name);
        char* end = nullptr;
        const double n = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0') fail("--" + name + " takes a number, got '" + v + "'");
        return n;
    }
    [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }

    // An integer flag that must be >= 0 (counts) or >= 1 (sizes), as std::size_t.
    [[nodiscard]] std::size_t count(const std::string& name, std::size_t fallback) const {
        const long long n = integer(name, static_cast<long long>(fallback));
        if (n < 0) fail("--" + name + " must not be negative");
        return static_cast<std::size_t>(n);
    }
    [[nodiscard]] std::size_t positive(const std::string& name, std::size_t fallback) const {
        const long long n = integer(name, static_cast<long long>(fallback));
        if (n < 1) fail("--" + name + " must be at least 1");
        return static_cast<std::size_t>(n);
    }
    // A positive number flag (learning rates).
    [[nodiscard]] double positive_number(const std::string& name, double fallback) const {
        const double x = number(name, fallback);
        if (!(x > 0.0)) fail("--" + name + " must be a positive number");
        return x;
    }
    // A comma-separated list of positive integers ("100,300,1500"); "none" is the empty list.
    [[nodiscard]] std::vector<std::size_t> count_list(const std::string& name,
                                                      const std::vector<std::size_t>& fallback) const {
        if (!has(name)) return fallback;
        const std::string& v = values_.at(name);
        std::vector<std::size_t> list;
        if (v == "none") return list;
        std::size_t start = 0;
        while (start <= v.size()) {
            const std::size_t comma = std::min(v.find(',', start), v.size());
            const std::string item = v.substr(start, comma - start);
            char* end = nullptr;
            const long long n = std::strtoll(item.c_str(), &end, 10);
            if (item.empty() || *end != '\0' || n < 1)
                fail("--" + name + " takes positive integers separated by commas (or 'none'), got '" + v + "'");
            list.push_back(static_cast<std::size_t>(n));
            start = comma + 1;
        }
        return list;
    }

    [[noreturn]] void fail(const std::string& message) const {
        std::cerr << "error: " << message << "\n\n" << usage_;
        std::exit(2);
    }

private:
    std::string usage_;
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

}  // namespace examples
