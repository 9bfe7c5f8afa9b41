// The verbs of the `ember` program. Each takes the arguments after the verb
// name, returns the exit code, and throws cli::UsageError or ember::Error;
// main.cpp turns those into a one-line message and exit code 2 or 1.
#pragma once

#include <string>
#include <vector>

namespace ember::verbs {

using Args = std::vector<std::string>;

int convert(const Args& args);  // tools/verb_convert.cpp
int info(const Args& args);     // tools/verb_info.cpp
int encode(const Args& args);   // tools/verb_encode.cpp
int decode(const Args& args);   // tools/verb_decode.cpp
int features(const Args& args); // tools/verb_features.cpp
int transcribe(const Args& args);  // tools/verb_transcribe.cpp
int bench(const Args& args);       // tools/verb_bench.cpp
int eval(const Args& args);        // tools/verb_eval.cpp

}  // namespace ember::verbs
