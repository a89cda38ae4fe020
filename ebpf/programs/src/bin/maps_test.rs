//! maps_test: raw tracepoint programs that the map tests run with BPF_PROG_TEST_RUN (no attach).
//! Each reads its parameters from the test-run context (`args[0]`, `args[1]`) and writes maps,
//! so the tests can check what user space decodes against what the kernel side wrote.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};

use aya_ebpf::{
    helpers::bpf_get_smp_processor_id,
    macros::{map, raw_tracepoint},
    maps::{
        lpm_trie::Key, Array, BloomFilter, HashMap, LpmTrie, LruHashMap, PerCpuArray, PerCpuHashMap,
        ProgramArray, Queue, Stack, StackTrace,
    },
    programs::{tracing::StackIdContext, RawTracePointContext},
};

/// Field offsets in comments, as `#[repr(C)]` lays them out (the TS codec must agree).
#[repr(C)]
pub struct Inner {
    pub a: u16, // 0, then 6 bytes of padding
    pub b: i64, // 8
}

#[repr(C)]
pub struct AllTypes {
    pub u8_: u8,         // 0, 1 byte padding
    pub u16_: u16,       // 2
    pub u32_: u32,       // 4
    pub u64_: u64,       // 8
    pub i8_: i8,         // 16, 1 byte padding
    pub i16_: i16,       // 18
    pub i32_: i32,       // 20
    pub i64_: i64,       // 24
    pub f32_: f32,       // 32, 4 bytes padding
    pub f64_: f64,       // 40
    pub flag: bool,      // 48
    pub name: [u8; 16],  // 49
    pub short: [u8; 8],  // 65, 7 bytes padding
    pub inner: Inner,    // 80
    pub arr: [i32; 3],   // 96
    pub tail: u8,        // 108, 3 bytes padding: size 112
}

/// Slot 0: written by `write_all_types`; slot 1: written by user space; slot 2: field-wise copy of slot 1.
#[map]
static ALL_TYPES: Array<AllTypes> = Array::with_max_entries(3, 0);
#[map]
static ALL_TYPES_BY_KEY: HashMap<u32, AllTypes> = HashMap::with_max_entries(16, 0);

#[map]
static PER_CPU_COUNT: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static PER_CPU_HASH: PerCpuHashMap<u32, u64> = PerCpuHashMap::with_max_entries(16, 0);
#[map]
static LRU: LruHashMap<u32, u64> = LruHashMap::with_max_entries(4, 0);

#[map]
static JUMP_TABLE: ProgramArray = ProgramArray::with_max_entries(4, 0);
/// [0]: which tail-called program ran (1, 2, or 99 when the tail call failed); [1]: LPM result.
#[map]
static RESULT: Array<u64> = Array::with_max_entries(4, 0);

#[map]
static STACKS: StackTrace = StackTrace::with_max_entries(64, 0);
/// [0]: the last stack id (or the negative error).
#[map]
static STACK_ID: Array<i64> = Array::with_max_entries(1, 0);

#[map]
static QUEUE: Queue<u32> = Queue::with_max_entries(8, 0);
#[map]
static STACK: Stack<u32> = Stack::with_max_entries(8, 0);
#[map]
static BLOOM: BloomFilter<u32> = BloomFilter::with_max_entries(64, 0);

#[map]
static ROUTES: LpmTrie<[u8; 4], u32> = LpmTrie::with_max_entries(16, 0);

/// args[0]: key in ALL_TYPES_BY_KEY. Writes extreme values into slot 0, then copies it there.
#[raw_tracepoint]
pub fn write_all_types(ctx: RawTracePointContext) -> i32 {
    let key: u64 = ctx.arg(0);
    let Some(p) = ALL_TYPES.get_ptr_mut(0) else { return 1 };
    unsafe {
        (*p).u8_ = u8::MAX;
        (*p).u16_ = u16::MAX;
        (*p).u32_ = u32::MAX;
        (*p).u64_ = u64::MAX;
        (*p).i8_ = i8::MIN;
        (*p).i16_ = i16::MIN;
        (*p).i32_ = i32::MIN;
        (*p).i64_ = i64::MIN;
        // Floats as bit patterns: the BPF backend has no float instructions.
        write_volatile(&raw mut (*p).f32_ as *mut u32, 0xbfc0_0000); // -1.5
        write_volatile(&raw mut (*p).f64_ as *mut u64, 0x4002_0000_0000_0000); // 2.25
        (*p).flag = true;
        let name = b"abcdefghijklmnop"; // all 16 bytes, no NUL
        for i in 0..16 {
            write_volatile(&raw mut (*p).name[i], read_volatile(&name[i]));
        }
        let short = b"hi\0\0\0\0\0\0";
        for i in 0..8 {
            write_volatile(&raw mut (*p).short[i], read_volatile(&short[i]));
        }
        (*p).inner.a = 0xbeef;
        (*p).inner.b = -1;
        (*p).arr[0] = -1;
        (*p).arr[1] = 0;
        (*p).arr[2] = i32::MAX;
        (*p).tail = 0x7f;
        if ALL_TYPES_BY_KEY.insert(key as u32, &*p, 0).is_err() {
            return 2;
        }
    }
    0
}

/// Copies ALL_TYPES[1] into ALL_TYPES[2] field by field, through the Rust layout.
#[raw_tracepoint]
pub fn copy_all_types(_ctx: RawTracePointContext) -> i32 {
    let (Some(s), Some(d)) = (ALL_TYPES.get_ptr(1), ALL_TYPES.get_ptr_mut(2)) else { return 1 };
    unsafe {
        (*d).u8_ = (*s).u8_;
        (*d).u16_ = (*s).u16_;
        (*d).u32_ = (*s).u32_;
        (*d).u64_ = (*s).u64_;
        (*d).i8_ = (*s).i8_;
        (*d).i16_ = (*s).i16_;
        (*d).i32_ = (*s).i32_;
        (*d).i64_ = (*s).i64_;
        write_volatile(&raw mut (*d).f32_ as *mut u32, read_volatile(&raw const (*s).f32_ as *const u32));
        write_volatile(&raw mut (*d).f64_ as *mut u64, read_volatile(&raw const (*s).f64_ as *const u64));
        write_volatile(&raw mut (*d).flag as *mut u8, read_volatile(&raw const (*s).flag as *const u8));
        for i in 0..16 {
            write_volatile(&raw mut (*d).name[i], read_volatile(&raw const (*s).name[i]));
        }
        for i in 0..8 {
            write_volatile(&raw mut (*d).short[i], read_volatile(&raw const (*s).short[i]));
        }
        (*d).inner.a = (*s).inner.a;
        (*d).inner.b = (*s).inner.b;
        for i in 0..3 {
            write_volatile(&raw mut (*d).arr[i], read_volatile(&raw const (*s).arr[i]));
        }
        (*d).tail = (*s).tail;
    }
    0
}

/// args[0]: key. Counts one run in PER_CPU_COUNT[0] and PER_CPU_HASH[key] on the current CPU.
#[raw_tracepoint]
pub fn count_per_cpu(ctx: RawTracePointContext) -> i32 {
    let key = ctx.arg::<u64>(0) as u32;
    if let Some(p) = PER_CPU_COUNT.get_ptr_mut(0) {
        unsafe { *p += 1 };
    }
    match PER_CPU_HASH.get_ptr_mut(key) {
        Some(p) => unsafe { *p += 1 },
        None => {
            let _ = PER_CPU_HASH.insert(key, 1, 0);
        }
    }
    let _ = LRU.insert(key, unsafe { bpf_get_smp_processor_id() } as u64, 0);
    0
}

/// Tail-calls JUMP_TABLE[0]; records 99 if there was nothing to jump to.
#[raw_tracepoint]
pub fn tail_entry(ctx: RawTracePointContext) -> i32 {
    unsafe { JUMP_TABLE.tail_call(&ctx, 0) };
    set_result(0, 99);
    0
}

#[raw_tracepoint]
pub fn tail_a(_ctx: RawTracePointContext) -> i32 {
    set_result(0, 1);
    0
}

#[raw_tracepoint]
pub fn tail_b(_ctx: RawTracePointContext) -> i32 {
    set_result(0, 2);
    0
}

/// Records the kernel stack of this test run in STACKS and its id in STACK_ID[0].
#[raw_tracepoint]
pub fn record_stack(ctx: RawTracePointContext) -> i32 {
    let id = match ctx.get_stackid(&STACKS, 0) {
        Ok(id) => id as i64,
        Err(e) => e as i64,
    };
    if let Some(p) = STACK_ID.get_ptr_mut(0) {
        unsafe { *p = id };
    }
    0
}

/// args[0]: a value pushed onto QUEUE and STACK and added to BLOOM.
#[raw_tracepoint]
pub fn push_values(ctx: RawTracePointContext) -> i32 {
    let v = ctx.arg::<u64>(0) as u32;
    let _ = QUEUE.push(v, 0);
    let _ = STACK.push(v, 0);
    let _ = BLOOM.insert(v, 0);
    0
}

/// args[0]: an IPv4 address as its 4 bytes in memory order. Longest-prefix match in ROUTES,
/// result (or 0) in RESULT[1].
#[raw_tracepoint]
pub fn lpm_lookup(ctx: RawTracePointContext) -> i32 {
    let addr = (ctx.arg::<u64>(0) as u32).to_ne_bytes();
    let found = ROUTES.get(Key::new(32, addr)).copied().unwrap_or(0);
    set_result(1, found as u64);
    0
}

fn set_result(index: u32, value: u64) {
    if let Some(p) = RESULT.get_ptr_mut(index) {
        unsafe { *p = value };
    }
}

aya_node_ebpf::object_support!("Dual MIT/GPL");
