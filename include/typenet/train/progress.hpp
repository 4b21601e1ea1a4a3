// typenet/train/progress.hpp
// Keras 2's progress bar (keras/utils/generic_utils.py Progbar), per epoch:
//
//   Epoch 3/30
//   100/100 [==============================] - 8s 80ms/step - loss: 0.1234 - accuracy: 0.9567 - val_loss: ...
//
// verbose 1 redraws the line in place (ETA, running loss and accuracy) when the output is
// a terminal, and writes only the finished line otherwise (logs stay readable);
// verbose 2 writes one short line per epoch (" - 8s - loss: ..."); verbose 0 nothing.
// Lines are formatted into a fixed buffer, so drawing allocates nothing during a step.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <ostream>

#include "typenet/train/history.hpp"

namespace typenet {

// Whether `out` is the process's stdout or stderr and that is a terminal.
inline bool is_terminal(const std::ostream& out) {
    if (&out == &std::cout) return ::isatty(STDOUT_FILENO) == 1;
    if (&out == &std::cerr || &out == &std::clog) return ::isatty(STDERR_FILENO) == 1;
    return false;
}

class ProgressBar {
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::size_t width = 30;        // characters between the brackets
    static constexpr double redraw_interval = 0.05;  // seconds between in-place redraws, as Keras

    ProgressBar(std::ostream& out, int verbose, bool dynamic) : out_(out), verbose_(verbose), dynamic_(dynamic) {}

    void start_epoch(std::size_t epoch, std::size_t epochs, std::size_t steps) {
        steps_ = steps;
        start_ = clock::now();
        last_draw_ = -1.0;
        drawn_width_ = 0;
        if (verbose_ == 0) return;
        Line line;
        line.append("Epoch %zu/%zu\n", epoch + 1, epochs);
        line.write(out_);
        out_.flush();
    }

    // After training step `step` (1-based), with the running means so far.
    void update(std::size_t step, double loss, double accuracy) {
        if (verbose_ != 1 || !dynamic_ || step >= steps_) return;
        const double elapsed = seconds();
        if (last_draw_ >= 0.0 && elapsed - last_draw_ < redraw_interval) return;
        last_draw_ = elapsed;
        Line line;
        line.append("\r");
        bar(line, step);
        const double eta = elapsed / static_cast<double>(step) * static_cast<double>(steps_ - step);
        line.append(" - ETA: ");
        if (eta > 3600)
            line.append("%d:%02d:%02d", static_cast<int>(eta / 3600), static_cast<int>(std::fmod(eta, 3600) / 60),
                        static_cast<int>(std::fmod(eta, 60)));
        else if (eta > 60)
            line.append("%d:%02d", static_cast<int>(eta / 60), static_cast<int>(std::fmod(eta, 60)));
        else
            line.append("%ds", static_cast<int>(eta));
        value(line, "loss", loss);
        value(line, "accuracy", accuracy);
        pad_and_write(line);
    }

    // The finished epoch: bar, time, time per step, and every quantity of the epoch.
    void finish(const EpochLogs& logs, std::size_t steps_done) {
        if (verbose_ == 0) return;
        const double elapsed = seconds();
        Line line;
        if (verbose_ == 1) {
            if (dynamic_) line.append("\r");
            bar(line, steps_done);
            line.append(" - %.0fs", elapsed);
            const double per_step = steps_done ? elapsed / static_cast<double>(steps_done) : 0.0;
            if (per_step >= 1)
                line.append(" %.0fs/step", per_step);
            else if (per_step >= 1e-3)
                line.append(" %.0fms/step", per_step * 1e3);
            else
                line.append(" %.0fus/step", per_step * 1e6);
        } else {
            line.append(" - %.0fs", elapsed);
        }
        value(line, "loss", logs.loss);
        value(line, "accuracy", logs.accuracy);
        if (logs.has_validation) {
            value(line, "val_loss", logs.val_loss);
            value(line, "val_accuracy", logs.val_accuracy);
        }
        if (dynamic_ && verbose_ == 1)
            pad_and_write(line);
        else
            line.write(out_);
        out_ << '\n';
        out_.flush();
    }

private:
    // A line of text in a fixed buffer (longer text is cut, never reallocated).
    struct Line {
        std::array<char, 512> text{};
        std::size_t size = 0;
        template <class... Args>
        void append(const char* format, Args... args) {
            if (size + 1 >= text.size()) return;
            int n;
            if constexpr (sizeof...(Args) == 0)
                n = std::snprintf(text.data() + size, text.size() - size, "%s", format);
            else
                n = std::snprintf(text.data() + size, text.size() - size, format, args...);
            if (n > 0) size = std::min(text.size() - 1, size + static_cast<std::size_t>(n));
        }
        void write(std::ostream& out) const { out.write(text.data(), static_cast<std::streamsize>(size)); }
    };

    double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

    // "  7/100 [==>...........................]", as Keras draws it.
    void bar(Line& line, std::size_t current) const {
        const int digits = steps_ > 0 ? static_cast<int>(std::floor(std::log10(static_cast<double>(steps_)))) + 1 : 1;
        line.append("%*zu/%zu [", digits, current, steps_);
        const std::size_t filled =
            steps_ > 0 ? static_cast<std::size_t>(static_cast<double>(width) * static_cast<double>(current) /
                                                  static_cast<double>(steps_))
                       : width;
        std::array<char, width + 2> marks{};
        std::size_t n = 0;
        for (std::size_t i = 0; i + 1 < filled && i < width; ++i) marks[n++] = '=';
        if (filled > 0) marks[n++] = current < steps_ ? '>' : '=';
        while (n < width) marks[n++] = '.';
        marks[n++] = ']';
        marks[n] = '\0';
        line.append("%s", marks.data());
    }

    // " - loss: 0.1234", or in scientific notation when tiny, as Keras.
    static void value(Line& line, const char* name, double v) {
        if (std::abs(v) > 1e-3 || !std::isfinite(v))
            line.append(" - %s: %.4f", name, v);
        else
            line.append(" - %s: %.4e", name, v);
    }

    // Overwrites what the previous redraw left on the terminal line.
    void pad_and_write(Line& line) {
        std::size_t visible = line.size - (line.size > 0 && line.text[0] == '\r' ? 1 : 0);
        const std::size_t longest = std::max(visible, drawn_width_);
        while (visible < drawn_width_ && line.size + 1 < line.text.size()) {
            line.text[line.size++] = ' ';
            ++visible;
        }
        drawn_width_ = longest;
        line.write(out_);
        out_.flush();
    }

    std::ostream& out_;
    int verbose_;
    bool dynamic_;
    std::size_t steps_ = 0;
    clock::time_point start_{};
    double last_draw_ = -1.0;
    std::size_t drawn_width_ = 0;
};

}  // namespace typenet
