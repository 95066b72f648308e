// One-pass reductions across workgroups: every workgroup writes its partial
// results, counts its arrival on a counter, and the last workgroup to arrive
// combines the partials, in the same dispatch (a second dispatch, and the
// barrier before it, saved). Deterministic: the last group reads the
// partials in a fixed order whichever group it is.
//
// Define LAST_GROUP_BINDING before the include and bind there a slot of
// asvk_stream_counter (zero, and left zero: the last group resets it). The
// partials must be written and read through a `coherent` storage buffer.
// Every invocation of every group must call last_group() (it holds
// barriers): no early return before it.
#ifndef ASVK_LAST_GROUP_GLSL
#define ASVK_LAST_GROUP_GLSL

layout(set = 0, binding = LAST_GROUP_BINDING, std430) coherent restrict buffer last_group_block {
    uint last_group_count[];
};

shared bool last_group_is_last;

// True in every invocation of the workgroup that arrives `arrivals`-th on
// counter `slot`: the last of the groups that share it (e.g. the K-slices
// of one output tile).
bool last_group_of(uint slot, uint arrivals) {
    memoryBarrierBuffer(); // this invocation's partials are visible before the count...
    barrier();             // ...and every invocation of the group has written
    if (gl_LocalInvocationIndex == 0u)
        last_group_is_last = atomicAdd(last_group_count[slot], 1u) == arrivals - 1u;
    barrier();
    memoryBarrierBuffer(); // the other groups' partials, before this group reads them
    return last_group_is_last;
}

// True in every invocation of the last workgroup of the dispatch to finish
// its partials.
bool last_group(uint slot) {
    return last_group_of(slot, gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_NumWorkGroups.z);
}

// Called by the last group once it has read the counter's users' data: the
// counter back to zero for the next dispatch (and replay) that uses it.
void last_group_reset(uint slot) {
    if (gl_LocalInvocationIndex == 0u) last_group_count[slot] = 0u;
}

#endif
