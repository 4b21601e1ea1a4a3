// examples/dataset_builder.cpp
// The chapter's Datasets Builder: the Kaggle train/ folder into training_data/,
// validation_data/ and test_data/ (1500/500/500 files per class by default), reproducibly
// for a seed, plus manifest.csv. All the logic is in chapter5/dataset_builder.hpp beside it.
//
//   dataset_builder --source train/ --out data --seed 42
//   dataset_builder --source train/ --out data --augmentation-grid augmentation.png
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "chapter5/augmentation.hpp"
#include "chapter5/dataset_builder.hpp"
#include "common/cli.hpp"
#include "typenet/data/image_files.hpp"
#include "typenet/data/image_loading.hpp"

namespace tn = typenet;

int main(int argc, char** argv) {
    const std::string usage =
        "usage: dataset_builder --source DIR --out DIR [options]\n"
        "  --source DIR       the Kaggle train/ folder (cat.<n>.jpg, dog.<n>.jpg, ...)\n"
        "  --out DIR          gets training_data/ validation_data/ test_data/ manifest.csv\n"
        "  --seed N           the draw (default 42); the same seed picks the same files anywhere\n"
        "  --train N          files per class for training (default 1500)\n"
        "  --validation N     files per class for validation (default 500)\n"
        "  --test N           files per class for testing (default 500)\n"
        "  --overwrite        replace an earlier build in --out\n"
        "  --copy             copy files (default: hard links where the file system allows)\n"
        "  --augmentation-grid PNG  also draw the first training image of each class and five\n"
        "                     augmented variants (the chapter's settings), at 150x150\n"
        "  --keras-convention C  the grid's augmentation: keras2 (default, the book's) or keras3\n";
    const examples::CommandLine cli(argc, argv, usage,
                                    {"source", "out", "seed", "train", "validation", "test", "augmentation-grid",
                                     "keras-convention"},
                                    {"overwrite", "copy"});
    if (!cli.has("source") || !cli.has("out")) cli.fail("--source and --out are required");
    auto count = [&](const char* name, long long fallback) {
        const long long n = cli.integer(name, fallback);
        if (n < 0) cli.fail(std::string("--") + name + " must not be negative");
        return static_cast<std::size_t>(n);
    };
    chapter5::DatasetBuilderOptions options;
    options.source = cli.text("source");
    options.out = examples::distributed().output(cli.text("out"));
    options.seed = static_cast<std::uint64_t>(cli.integer("seed", 42));
    options.train = count("train", 1500);
    options.validation = count("validation", 500);
    options.test = count("test", 500);
    options.overwrite = cli.has("overwrite");
    options.copy = cli.has("copy");

    try {
        const auto report = chapter5::build_dataset(options);
        std::cout << chapter5::format_split_counts(report.plan);
        std::cout << "wrote " << report.plan.count(chapter5::Split::train) << " / " << report.plan.count(chapter5::Split::validation)
                  << " / " << report.plan.count(chapter5::Split::test) << " files to " << options.out.string() << " ("
                  << report.hard_links << " hard links, " << report.copies << " copies); manifest "
                  << report.manifest.string() << "\n";

        if (cli.has("augmentation-grid")) {
            const auto train = tn::list_image_files(options.out / chapter5::split_folder(chapter5::Split::train));
            std::vector<std::filesystem::path> firsts;
            for (std::size_t c = 0; c < train.classes.size(); ++c)
                for (std::size_t i = 0; i < train.size(); ++i)
                    if (train.labels[i] == c && !tn::probe_image_file(train.paths[i])) {
                        firsts.push_back(train.paths[i]);
                        break;
                    }
            tn::ImageDataGenerator chapter = chapter5::training_augmentation();
            try {
                chapter.convention = tn::keras_convention_named(cli.text("keras-convention", "keras2"));
            } catch (const std::invalid_argument& e) {
                cli.fail(std::string("--keras-convention: ") + e.what());
            }
            chapter5::AugmentationGridOptions grid;
            grid.seed = options.seed;
            const std::filesystem::path png = cli.text("augmentation-grid");
            chapter5::write_augmentation_grid(firsts, chapter, png, {150, 150, 3}, grid);
            std::cout << "augmentation picture: " << png.string() << "\n";
        }
    } catch (const chapter5::DatasetError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
