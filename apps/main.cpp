// anytok: every modality as tokens of one vocabulary, and back.
#include <cstring>
#include <iostream>

#include "apps/command.h"
#include "nn/error.h"

namespace anytok {

Command tokenize_command();
Command detokenize_command();
Command reconstruct_command();
Command inspect_command();
Command vocab_command();
Command generate_command();
Command score_command();
Command preprocess_command();
Command merge_command();
Command world_command();
Command demo_command();

const std::vector<Command>& commands() {
  static const std::vector<Command> all{tokenize_command(), detokenize_command(), reconstruct_command(),
                                        preprocess_command(), merge_command(), generate_command(), score_command(),
                                        inspect_command(), vocab_command(), world_command(), demo_command()};
  return all;
}

}  // namespace anytok

namespace {

void print_usage(std::ostream& out) {
  out << "usage: anytok <command> [options]   (anytok <command> --help for its options)\n\ncommands:\n";
  for (const auto& c : anytok::commands()) out << "  " << c.name << std::string(12 - c.name.size(), ' ') << c.summary << "\n";
  out << "\nExit status: 0 on success, 1 on a usage or input error (one line on standard error).\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 1;
  }
  if (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_usage(std::cout);
    return 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::cout << "anytok " << ANYTOK_VERSION << "\n";
    return 0;
  }
  for (const auto& command : anytok::commands()) {
    if (command.name != argv[1]) continue;
    try {
      return command.run(argc - 1, argv + 1);
    } catch (const anytok::Error& e) {
      std::cerr << "anytok " << command.name << ": " << e.what() << "\n";
    } catch (const std::bad_alloc&) {
      std::cerr << "anytok " << command.name << ": out of memory\n";
    } catch (const std::exception& e) {
      std::cerr << "anytok " << command.name << ": " << e.what() << "\n";
    }
    return 1;
  }
  std::cerr << "anytok: unknown command '" << argv[1] << "' (see anytok --help)\n";
  return 1;
}
