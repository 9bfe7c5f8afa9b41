#include "model/search_state.h"

#include <algorithm>

namespace ember {

void reset_tree(SearchTree& tree, int64_t token) {
    tree.prefixes.clear();
    tree.emissions.clear();
    Prefix root;
    root.token = token;
    tree.prefixes.push_back(root);
    tree.emissions.push_back(Emission{});
}

int32_t child_prefix(SearchTree& tree, int32_t parent, int64_t token) {
    int32_t* link = &tree.prefixes[static_cast<size_t>(parent)].first_child;
    for (; *link >= 0; link = &tree.prefixes[static_cast<size_t>(*link)].next_sibling)
        if (tree.prefixes[static_cast<size_t>(*link)].token == token) return *link;
    const int32_t child = static_cast<int32_t>(tree.prefixes.size());
    *link = child;  // before push_back, which may move the vector
    Prefix p;
    p.token = token;
    p.parent = parent;
    p.length = tree.prefixes[static_cast<size_t>(parent)].length + 1;
    tree.prefixes.push_back(p);
    return child;
}

int32_t add_emission(SearchTree& tree, int32_t parent, int64_t frame) {
    tree.emissions.push_back({frame, parent});
    return static_cast<int32_t>(tree.emissions.size() - 1);
}

SlotPool make_slot_pool(int64_t output_floats, int64_t state_floats, int64_t keep, int64_t frames_scored,
                        int64_t reserve_slots) {
    SlotPool p;
    p.output_floats = output_floats;
    p.state_floats = state_floats;
    p.keep = keep;
    p.frames_scored = frames_scored;
    const size_t n = static_cast<size_t>(reserve_slots), scored = n * static_cast<size_t>(frames_scored);
    p.info.reserve(n);
    p.outputs.reserve(n * static_cast<size_t>(output_floats));
    p.states.reserve(n * static_cast<size_t>(state_floats));
    p.summaries.reserve(scored);
    p.top_values.reserve(scored * static_cast<size_t>(keep));
    p.top_tokens.reserve(scored * static_cast<size_t>(keep));
    return p;
}

namespace {

size_t summary_offset(const SlotPool& p, int32_t slot, int64_t frame) {
    return summary_index(p, slot, frame) * static_cast<size_t>(p.keep);
}

void forget_summaries(SlotPool& p, int32_t slot) {
    for (int64_t f = 0; f < p.frames_scored; ++f) frame_summary(p, slot, f).frame = -1;
}

}  // namespace

RowSummary slot_summary(const SlotPool& p, int32_t slot, int64_t frame) {
    const FrameSummary& s = frame_summary(p, slot, frame);
    RowSummary r;
    r.blank = s.blank;
    r.nan = s.nan;
    r.count = s.count;
    r.values = p.top_values.data() + summary_offset(p, slot, frame);
    r.tokens = p.top_tokens.data() + summary_offset(p, slot, frame);
    return r;
}

void set_slot_summary(SlotPool& p, int32_t slot, const float* row, int64_t num_symbols, int64_t frame) {
    const size_t at = summary_offset(p, slot, frame);
    const RowSummary r = summarize_row(row, num_symbols, p.keep, p.top_values.data() + at, p.top_tokens.data() + at);
    FrameSummary& s = frame_summary(p, slot, frame);
    s.frame = frame;
    s.blank = r.blank;
    s.nan = r.nan;
    s.count = r.count;
}

int32_t take_slot(SlotPool& p, SearchTree& tree, int32_t prefix) {
    int32_t slot = -1;
    for (size_t i = 0; i < p.info.size(); ++i)
        if (!p.info[i].held && (slot < 0 || p.info[i].released_at < p.info[static_cast<size_t>(slot)].released_at))
            slot = static_cast<int32_t>(i);
    if (slot < 0) {
        slot = static_cast<int32_t>(p.info.size());
        p.info.emplace_back();
        p.outputs.resize(p.outputs.size() + static_cast<size_t>(p.output_floats));
        p.states.resize(p.states.size() + static_cast<size_t>(p.state_floats));
        const size_t scored = static_cast<size_t>(p.frames_scored);
        p.summaries.resize(p.summaries.size() + scored);
        p.top_values.resize(p.top_values.size() + scored * static_cast<size_t>(p.keep));
        p.top_tokens.resize(p.top_tokens.size() + scored * static_cast<size_t>(p.keep));
    }
    SlotInfo& s = p.info[static_cast<size_t>(slot)];
    if (s.prefix >= 0) tree.prefixes[static_cast<size_t>(s.prefix)].slot = -1;
    s.prefix = prefix;
    s.held = true;
    forget_summaries(p, slot);
    tree.prefixes[static_cast<size_t>(prefix)].slot = slot;
    return slot;
}

void hold_slot(SlotPool& p, int32_t slot) { p.info[static_cast<size_t>(slot)].held = true; }

void release_slot(SlotPool& p, int32_t slot) {
    SlotInfo& s = p.info[static_cast<size_t>(slot)];
    if (s.held) s.released_at = ++p.releases;
    s.held = false;
}

void release_slots_except(SlotPool& p, const SearchTree& tree, const std::vector<SearchHypothesis>& kept) {
    for (size_t slot = 0; slot < p.info.size(); ++slot) release_slot(p, static_cast<int32_t>(slot));
    for (const SearchHypothesis& h : kept) hold_slot(p, tree.prefixes[static_cast<size_t>(h.prefix)].slot);
}

void unlink_slots(SlotPool& p, int32_t held) {
    for (size_t slot = 0; slot < p.info.size(); ++slot) {
        release_slot(p, static_cast<int32_t>(slot));
        p.info[slot].prefix = -1;
        forget_summaries(p, static_cast<int32_t>(slot));
    }
    if (held >= 0) hold_slot(p, held);
}

namespace {

constexpr int32_t kDropped = -1, kKept = -2;

// renumbered.assign(nodes, kDropped), growing the scratch geometrically: a
// plain assign reallocates to the exact size, which under --carry-beam (the
// tree growing with the transcript) would be an allocation per chunk.
void mark_all_dropped(std::vector<int32_t>& renumbered, size_t nodes) {
    if (nodes > renumbered.capacity()) renumbered.reserve(std::max(nodes, 2 * renumbered.capacity()));
    renumbered.assign(nodes, kDropped);
}

// Marks `node` and its ancestors kept, stopping at one already marked.
template <class Node>
void keep_with_ancestors(const std::vector<Node>& nodes, std::vector<int32_t>& renumbered, int32_t node) {
    for (; node >= 0 && renumbered[static_cast<size_t>(node)] == kDropped;
         node = nodes[static_cast<size_t>(node)].parent)
        renumbered[static_cast<size_t>(node)] = kKept;
}

// Moves the kept nodes to the front in order (a parent always precedes its
// children, so its new number is known) and gives each its new number.
template <class Node>
void renumber(std::vector<Node>& nodes, std::vector<int32_t>& renumbered) {
    int32_t count = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
        if (renumbered[i] == kDropped) continue;
        Node node = nodes[i];
        if (node.parent >= 0) node.parent = renumbered[static_cast<size_t>(node.parent)];
        nodes[static_cast<size_t>(count)] = node;
        renumbered[i] = count++;
    }
    nodes.resize(static_cast<size_t>(count));
}

}  // namespace

void compact_tree(SearchTree& tree, SlotPool& slots, std::vector<SearchHypothesis>& kept,
                  std::vector<int32_t>& renumbered) {
    mark_all_dropped(renumbered, tree.prefixes.size());
    for (const SearchHypothesis& h : kept) keep_with_ancestors(tree.prefixes, renumbered, h.prefix);
    for (const SlotInfo& info : slots.info) keep_with_ancestors(tree.prefixes, renumbered, info.prefix);
    renumber(tree.prefixes, renumbered);
    for (Prefix& p : tree.prefixes) p.first_child = p.next_sibling = -1;
    for (size_t i = 0; i < tree.prefixes.size(); ++i) {
        Prefix& p = tree.prefixes[i];
        if (p.parent < 0) continue;
        Prefix& parent = tree.prefixes[static_cast<size_t>(p.parent)];
        p.next_sibling = parent.first_child;
        parent.first_child = static_cast<int32_t>(i);
    }
    for (SearchHypothesis& h : kept) h.prefix = renumbered[static_cast<size_t>(h.prefix)];
    for (SlotInfo& info : slots.info)
        if (info.prefix >= 0) info.prefix = renumbered[static_cast<size_t>(info.prefix)];

    mark_all_dropped(renumbered, tree.emissions.size());
    for (const SearchHypothesis& h : kept) keep_with_ancestors(tree.emissions, renumbered, h.emission);
    renumber(tree.emissions, renumbered);
    for (SearchHypothesis& h : kept) h.emission = renumbered[static_cast<size_t>(h.emission)];
}

}  // namespace ember
