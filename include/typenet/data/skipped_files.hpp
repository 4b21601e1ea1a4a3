// typenet/data/skipped_files.hpp
// The record of image files a loader could not read: one warning per file, written to a
// stream the caller chooses (std::clog by default, nullptr for silence), and the list
// kept for the count at the end. Safe to use from worker threads.
#pragma once

#include <cstddef>
#include <filesystem>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace typenet {

class SkippedFiles {
public:
    explicit SkippedFiles(std::ostream* log) : log_(log) {}

    // Records `file` as unreadable; warns the first time only. Returns true if it was new.
    bool add(const std::filesystem::path& file, const std::string& reason) {
        std::lock_guard lock(mutex_);
        if (!seen_.insert(file.string()).second) return false;
        files_.push_back({file, reason});
        if (log_) *log_ << "typenet: warning: skipping " << file.string() << ": " << reason << '\n' << std::flush;
        return true;
    }
    bool contains(const std::filesystem::path& file) const {
        std::lock_guard lock(mutex_);
        return seen_.count(file.string()) != 0;
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return files_.size();
    }
    // (file, reason) in the order they were found.
    std::vector<std::pair<std::filesystem::path, std::string>> files() const {
        std::lock_guard lock(mutex_);
        return files_;
    }
    // The line printed at the end of a load: "3 of 412 files in DIR were skipped".
    void report(std::size_t total, const std::filesystem::path& folder) const {
        std::lock_guard lock(mutex_);
        if (log_ && !files_.empty())
            *log_ << "typenet: " << files_.size() << " of " << total << " files in " << folder.string()
                  << " were skipped (unreadable)\n"
                  << std::flush;
    }

private:
    std::ostream* log_;
    mutable std::mutex mutex_;
    std::set<std::string> seen_;
    std::vector<std::pair<std::filesystem::path, std::string>> files_;
};

}  // namespace typenet
