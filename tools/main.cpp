// `ember VERB ...`: the only place in ember that prints usage or exits.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "engine/error.h"
#include "tools/cli.h"
#include "tools/verbs.h"

namespace {

struct Verb {
    const char* name;
    int (*run)(const ember::verbs::Args&);
    const char* summary;
};

const Verb kVerbs[] = {
    {"convert", ember::verbs::convert, "convert a torchaudio checkpoint (.pt) to a .ember file"},
    {"info", ember::verbs::info, "describe a .ember file"},
    {"encode", ember::verbs::encode, "run the transcriber on features (.npy), streaming or not"},
    {"decode", ember::verbs::decode, "transcriber + RNN-T beam search on features (.npy)"},
    {"transcribe", ember::verbs::transcribe, "audio (.wav, or raw PCM on standard input) -> text"},
    {"features", ember::verbs::features, "audio (.wav or .npy waveform) -> model input features (.npy)"},
    {"eval", ember::verbs::eval, "word and character error rates over a list of WAV files and their texts"},
    {"bench", ember::verbs::bench, "measure a model's speed and memory on this machine (random input)"},
};

void print_usage(FILE* out) {
    std::fprintf(out,
                 "usage: ember VERB [OPTIONS]\n\n"
                 "Streaming Emformer RNN-T speech recognition on the CPU.\n\nverbs:\n");
    for (const auto& verb : kVerbs) std::fprintf(out, "  %-10s %s\n", verb.name, verb.summary);
    std::fprintf(out, "\nRun 'ember VERB --help' for the options of a verb.\n");
}

// A verb's output counts only once it reached standard output: a full disk
// there is an error, not a success with the transcript silently lost.
int checked_output(const char* verb, int code) {
    if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return code;
    std::fprintf(stderr, "ember %s: error: cannot write standard output: %s\n", verb, std::strerror(errno));
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char* name = argv[1];
    if (!std::strcmp(name, "--help") || !std::strcmp(name, "-h") || !std::strcmp(name, "help")) {
        print_usage(stdout);
        return 0;
    }
    for (const auto& verb : kVerbs) {
        if (std::strcmp(verb.name, name) != 0) continue;
        try {
            return checked_output(name, verb.run(ember::verbs::Args(argv + 2, argv + argc)));
        } catch (const ember::cli::UsageError& error) {
            std::fprintf(stderr, "ember %s: %s\nTry 'ember %s --help'.\n", name, error.what(), name);
            return 2;
        } catch (const std::bad_alloc&) {
            std::fprintf(stderr, "ember %s: error: out of memory\n", name);
            return 1;
        } catch (const std::exception& error) {
            std::fprintf(stderr, "ember %s: error: %s\n", name, error.what());
            return 1;
        }
    }
    std::fprintf(stderr, "ember: unknown verb '%s'\nTry 'ember --help'.\n", name);
    return 2;
}
