// Interning of tensor names to dense ids: the one hash table of the pass's
// graph index. Open addressing over two flat arrays (no allocation per
// name, no pointer chasing), views of strings the caller keeps alive.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace mmdeploy::partition {

class NameTable {
 public:
  static constexpr int kNone = -1;

  // Room for `expected` names without rehashing.
  void Reserve(size_t expected) {
    size_t capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    if (capacity > slots_.size()) Rehash(capacity);
    names_.reserve(expected);
  }

  // The id of `name`, assigning the next one on first sight. The viewed
  // string must outlive the table.
  int Intern(std::string_view name) {
    if ((names_.size() + 1) * 2 > slots_.size()) {
      Rehash(slots_.empty() ? 16 : slots_.size() * 2);
    }
    const uint64_t hash = Hash(name);
    for (size_t at = hash & (slots_.size() - 1);;
         at = (at + 1) & (slots_.size() - 1)) {
      Slot& slot = slots_[at];
      if (slot.id == kNone) {
        slot = {name, static_cast<uint32_t>(hash),
                static_cast<int>(names_.size())};
        names_.push_back(name);
        return slot.id;
      }
      if (slot.hash == static_cast<uint32_t>(hash) && slot.name == name) {
        return slot.id;
      }
    }
  }

  // The id of `name`, or kNone.
  int Find(std::string_view name) const {
    if (slots_.empty()) return kNone;
    const uint64_t hash = Hash(name);
    for (size_t at = hash & (slots_.size() - 1);;
         at = (at + 1) & (slots_.size() - 1)) {
      const Slot& slot = slots_[at];
      if (slot.id == kNone) return kNone;
      if (slot.hash == static_cast<uint32_t>(hash) && slot.name == name) {
        return slot.id;
      }
    }
  }

  std::string_view Name(int id) const { return names_[id]; }
  int size() const { return static_cast<int>(names_.size()); }

 private:
  // The name is in the slot itself, so that a probe compares without a
  // second lookup.
  struct Slot {
    std::string_view name;
    uint32_t hash = 0;
    int id = kNone;
  };

  static uint64_t Hash(std::string_view name) {
    return std::hash<std::string_view>{}(name);
  }

  void Rehash(size_t capacity) {
    std::vector<Slot> slots(capacity);
    for (const Slot& slot : slots_) {
      if (slot.id == kNone) continue;
      // The low bits of the full hash decide the slot; recompute them.
      const uint64_t hash = Hash(slot.name);
      size_t at = hash & (capacity - 1);
      while (slots[at].id != kNone) at = (at + 1) & (capacity - 1);
      slots[at] = slot;
    }
    slots_ = std::move(slots);
  }

  std::vector<Slot> slots_;  // size: a power of two, at most half full
  std::vector<std::string_view> names_;
};

}  // namespace mmdeploy::partition
