// ember eval: word and character error rates of a model over a list of WAV
// files with their reference texts.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "engine/error.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "model/recognizer.h"
#include "tools/cli.h"
#include "tools/eval/manifest.h"
#include "tools/eval/word_error_rate.h"
#include "tools/recognize_file.h"
#include "tools/verbs.h"

namespace ember::verbs {

namespace {

const char* kUsage =
    "usage: ember eval MODEL.ember --manifest LIST.tsv [--streaming] [--beam K] [--threads N] [--json]\n"
    "                  [--carry-predictor | --carry-beam] [--max-wer P] [--max-cer P]\n\n"
    "Transcribes every WAV file of LIST.tsv ('path<TAB>reference text' per line; relative paths\n"
    "are relative to the list's directory) as `ember transcribe` would, and prints the word and\n"
    "character error rates: edit distances over the normalised texts (lower-case, punctuation\n"
    "removed; characters include the spaces between words) summed over the list, as a\n"
    "percentage of the reference length.\n\n"
    "  --streaming    recognize chunk by chunk (default: each file at once)\n"
    "  --beam K       beam width (default 10; 1 is greedy)\n"
    "  --threads N    files transcribed side by side (default 1)\n"
    "  --json         one JSON object with the totals and every utterance's text and errors\n"
    EMBER_CARRY_PREDICTOR_HELP
    "  --max-wer P    exit with status 1 when the WER is above P percent (for CI)\n"
    "  --max-cer P    likewise for the CER\n";

struct Scored {
    std::string hypothesis;
    eval::ErrorCounts counts;
    std::string error;
};

std::vector<Scored> score_all(const Recognizer& recognizer, const std::vector<eval::ManifestEntry>& entries,
                              int64_t threads) {
    std::vector<Scored> scored(entries.size());
    std::atomic<size_t> next{0}, done{0};
    cli::Progress progress("eval");
    // Every thread takes the next file; the calling thread also shows the progress of all.
    auto worker = [&](bool report) {
        for (size_t i; (i = next.fetch_add(1)) < entries.size();) {
            try {
                scored[i].hypothesis = tools::recognize_wav_file(recognizer, entries[i].path).text;
                scored[i].counts = eval::count_errors(entries[i].reference, scored[i].hypothesis);
            } catch (const std::exception& error) {
                scored[i].error = error.what();
            }
            const size_t finished = ++done;
            if (report) progress.update(static_cast<double>(finished) / static_cast<double>(entries.size()));
        }
    };
    std::vector<std::thread> pool;
    for (int64_t t = 1; t < std::min<int64_t>(threads, static_cast<int64_t>(entries.size())); ++t)
        pool.emplace_back(worker, false);
    worker(true);
    for (std::thread& thread : pool) thread.join();
    progress.finish();
    return scored;
}

void print_json(const std::vector<eval::ManifestEntry>& entries, const std::vector<Scored>& scored,
                const eval::ErrorCounts& total, const RecognizerOptions& options) {
    std::printf("{\"utterances\": %zu, \"streaming\": %s, \"beam\": %lld, \"carry_predictor\": %s, "
                "\"carry_beam\": %s, \"wer\": %.4f, "
                "\"cer\": %.4f, \"word_errors\": %lld, \"words\": %lld, \"char_errors\": %lld, \"chars\": %lld, "
                "\"results\": [",
                entries.size(), options.streaming ? "true" : "false", static_cast<long long>(options.search.beam),
                options.search.carry_predictor ? "true" : "false", options.search.carry_beam ? "true" : "false",
                eval::word_error_rate(total), eval::char_error_rate(total), static_cast<long long>(total.word_errors),
                static_cast<long long>(total.words), static_cast<long long>(total.char_errors),
                static_cast<long long>(total.chars));
    for (size_t i = 0; i < entries.size(); ++i) {
        const eval::ErrorCounts& c = scored[i].counts;
        std::printf("%s\n  {\"file\": %s, \"reference\": %s, \"hypothesis\": %s, \"word_errors\": %lld, "
                    "\"words\": %lld, \"char_errors\": %lld, \"chars\": %lld}",
                    i ? "," : "", cli::json_quote(entries[i].path).c_str(),
                    cli::json_quote(entries[i].reference).c_str(), cli::json_quote(scored[i].hypothesis).c_str(),
                    static_cast<long long>(c.word_errors), static_cast<long long>(c.words),
                    static_cast<long long>(c.char_errors), static_cast<long long>(c.chars));
    }
    std::printf("\n]}\n");
}

}  // namespace

int eval(const Args& args) {
    const cli::ParsedArgs parsed = cli::parse_args(
        args, {{"--manifest"}, {"--streaming", false}, {"--beam"}, {"--threads"}, {"--json", false}, {"--max-wer"},
               {"--max-cer"}, {"--carry-predictor", false}, {"--carry-beam", false}});
    if (parsed.help) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (parsed.positionals.size() != 1) throw cli::UsageError("expected exactly one MODEL.ember");
    const std::string manifest = parsed.required("--manifest");
    RecognizerOptions options;
    options.streaming = parsed.has("--streaming");
    options.search.beam = parsed.integer("--beam", 10, 1, 1 << 20);
    options.search.carry_predictor = cli::carry_predictor(parsed);
    options.search.carry_beam = cli::carry_beam(parsed);
    const int64_t threads = parsed.integer("--threads", 1, 1, 256);
    // Error rates can pass 100% (insertions), so no bound unless one is given.
    const double max_wer = parsed.number("--max-wer", HUGE_VAL, 0.0, 1e6);
    const double max_cer = parsed.number("--max-cer", HUGE_VAL, 0.0, 1e6);

    cli::check_input_file(parsed.positionals[0]);
    cli::check_input_file(manifest);
    const std::vector<eval::ManifestEntry> entries = eval::read_manifest(manifest);
    kernels::set_num_threads(1);
    const Model model = load_model(parsed.positionals[0]);
    const Recognizer recognizer = make_recognizer(model, options);

    const std::vector<Scored> scored = score_all(recognizer, entries, threads);
    eval::ErrorCounts total;
    for (size_t i = 0; i < entries.size(); ++i) {
        if (!scored[i].error.empty())
            fail(manifest, ":", entries[i].line, ": ", scored[i].error);
        eval::add_counts(total, scored[i].counts);
    }
    if (parsed.has("--json"))
        print_json(entries, scored, total, options);
    else
        std::printf("%zu utterances, %lld words: WER %.2f%% (%lld word errors), CER %.2f%% (%lld of %lld characters)\n",
                    entries.size(), static_cast<long long>(total.words), eval::word_error_rate(total),
                    static_cast<long long>(total.word_errors), eval::char_error_rate(total),
                    static_cast<long long>(total.char_errors), static_cast<long long>(total.chars));
    if (eval::word_error_rate(total) > max_wer)
        fail("WER ", eval::word_error_rate(total), "% is above --max-wer ", max_wer);
    if (eval::char_error_rate(total) > max_cer)
        fail("CER ", eval::char_error_rate(total), "% is above --max-cer ", max_cer);
    return 0;
}

}  // namespace ember::verbs
