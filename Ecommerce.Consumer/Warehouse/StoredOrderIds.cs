using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// The order ids a warehouse may hold, kept in memory by the one process that writes it (the embedded DuckDB file is
/// locked to a single process). A Bloom filter: an id it has never been given is almost always reported absent, so a
/// batch of new orders needs no look-up in a fact table of any size; an id it has been given is always reported
/// present, and only those (true redeliveries, and a few in a million others) are looked up.
/// </summary>
/// <remarks>
/// About 4 bytes per id (135 MB for 30 million orders, sized with an eighth to spare), where DuckDB's primary-key index on <c>ORDER_ID</c> held
/// about 80 bytes per id in memory (812 MB for 10 million). Blocked: each id's bits lie in one 64-byte block, so a
/// look-up touches one cache line. It grows by adding segments, each twice the last, so it is never rebuilt.
/// Thread-safe: bits are only ever set, with atomic ORs, and an id is added before the transaction that stores it, so
/// a reader can see more ids than are stored, never fewer.
/// </remarks>
public sealed class StoredOrderIds
{
    /// <summary>Bits per id, and bits set per id: a false "may be stored" for about 3 in a million unknown ids (measured).</summary>
    private const int BitsPerId = 32;
    private const int ProbesPerId = 16;
    private const int WordsPerBlock = 8;
    private const long SmallestCapacity = 1 << 20;
    /// <summary>
    /// The largest segment: its bits (4 bytes an id) must fit in one span of bytes to be written and read. A larger
    /// capacity in a saved file is damage.
    /// </summary>
    private const long MaxCapacity = int.MaxValue / (BitsPerId / 8);

    private readonly Lock _growth = new();

    /// <summary>What the last group's first reads found where a processor has no prefetch instruction (see <see cref="Segment.Prefetch"/>); nothing reads it.</summary>
    private ulong _touched;
    private volatile Segment[] _segments;

    public StoredOrderIds(long expectedIds = 0) =>
        _segments = [new Segment(Math.Max(SmallestCapacity, expectedIds + (expectedIds / 8)))];

    private StoredOrderIds(Segment[] segments) => _segments = segments;

    /// <summary>Ids added so far (an id added twice counts twice).</summary>
    public long Count => _segments.Sum(s => s.Added);

    /// <summary>False when <paramref name="orderId"/> was certainly never added; true when it may have been.</summary>
    public bool MayContain(string orderId)
    {
        var hash = Hash(orderId);
        foreach (var segment in _segments)
        {
            if (segment.MayContain(hash))
            {
                return true;
            }
        }

        return false;
    }

    public void Add(string orderId)
    {
        var hash = Hash(orderId);
        var segment = _segments[^1];
        if (Interlocked.Increment(ref segment.Added) > segment.Capacity)
        {
            segment = Grow(segment);
        }

        segment.Add(hash);
    }

    /// <summary>
    /// Adds many ids (a load of every stored id): a group's ids are all hashed first, their blocks are then brought into
    /// the cache side by side (<see cref="Segment.Prefetch"/>), and only then are their bits set, so that the cache
    /// misses overlap instead of coming one after another. Hashing in the same loop as the reads left the processor room
    /// for few of them at a time. Measured on 2026-12-05: a microbenchmark of 30 M random hashes into a filter sized for
    /// them, with a stand-in for the hashing, 134-142 ns an id with each block read as its id was hashed (as this code
    /// did), 83-86 ns with the hashing first and then the reads, 74-75 ns with prefetch instructions instead of the
    /// reads (322 ns with neither); a probe loading the benchmark's 30 M stored ids in two ranges as a first start does,
    /// 3.3-3.6 s and 6.1-6.7 CPU s with prefetches against 3.7-3.9 s and 6.9-7.2 CPU s with reads; the service's first
    /// start at 30 M orders (`--only scale --scale 30000000`, alternating) read them in 5.4-5.7 s against 7.7-11.8 s.
    /// </summary>
    public void Add(ReadOnlySpan<string> orderIds)
    {
        const int Group = 32;
        Span<UInt128> hashes = stackalloc UInt128[Group];
        while (!orderIds.IsEmpty)
        {
            var group = orderIds[..Math.Min(Group, orderIds.Length)];
            orderIds = orderIds[group.Length..];
            var segment = _segments[^1];
            if (Interlocked.Add(ref segment.Added, group.Length) > segment.Capacity)
            {
                // The last segment cannot take them all: one at a time, so that it grows as for any id.
                Interlocked.Add(ref segment.Added, -group.Length);
                foreach (var id in group)
                {
                    Add(id);
                }

                continue;
            }

            for (var i = 0; i < group.Length; i++)
            {
                hashes[i] = Hash(group[i]);
            }

            var touched = 0UL;
            for (var i = 0; i < group.Length; i++)
            {
                touched |= segment.Prefetch(hashes[i]);
            }

            _touched = touched; // Stored, so that the reads made where there is no prefetch instruction are not dropped as unused.
            for (var i = 0; i < group.Length; i++)
            {
                segment.Add(hashes[i]);
            }
        }
    }

    /// <summary>Adds the ids a reader returns in its first column, in groups of 1,024; returns how many it added.</summary>
    public long Add(System.Data.Common.DbDataReader idsInFirstColumn, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(idsInFirstColumn);
        var group = new string[1024];
        var count = 0;
        var added = 0L;
        while (idsInFirstColumn.Read())
        {
            group[count++] = idsInFirstColumn.GetString(0);
            if (count == group.Length)
            {
                Add(group);
                added += count;
                count = 0;
                cancellationToken.ThrowIfCancellationRequested(); // A stop during a warm-up: the ids are loaded later, if ever.
            }
        }

        Add(group.AsSpan(0, count));
        return added + count;
    }

    private Segment Grow(Segment full)
    {
        lock (_growth)
        {
            var last = _segments[^1];
            Interlocked.Decrement(ref full.Added); // Counted in the segment it goes to instead.
            if (ReferenceEquals(last, full))
            {
                last = new Segment(full.Capacity * 2);
                _segments = [.. _segments, last];
            }

            Interlocked.Increment(ref last.Added);
            return last;
        }
    }

    private const long FileFormat = 0x3253_4449_5245_444F; // "ODERIDS2", little-endian (format 1 placed the bits otherwise: not read).

    /// <summary>Writes the filter's bits, to be read back by <see cref="Read"/> instead of being rebuilt from every stored id.</summary>
    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);

        // Written while ids may still be added: every id added before the call is in one of these segments, and a word
        // read while another bit is set in it only holds more. A segment's count is read before its bits: ids added
        // while it is written belong to rows stored after the caller's mark, which a reader adds (and counts) again.
        var segments = _segments;
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(FileFormat);
        writer.Write(segments.Length);
        foreach (var segment in segments)
        {
            writer.Write(segment.Capacity);
            writer.Write(Interlocked.Read(ref segment.Added));
            writer.Write(WordsFor(segment.Capacity));
            writer.Write(MemoryMarshal.AsBytes(segment.Bits));
        }
    }

    /// <summary>A filter written by <see cref="Write"/>; null when the stream does not hold one whole.</summary>
    public static StoredOrderIds? Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            if (reader.ReadInt64() != FileFormat)
            {
                return null;
            }

            var count = reader.ReadInt32();
            if (count is < 1 or > 64)
            {
                return null;
            }

            var segments = new Segment[count];
            for (var i = 0; i < count; i++)
            {
                var capacity = reader.ReadInt64();
                if (capacity is < 1 or > MaxCapacity)
                {
                    return null;
                }

                var added = reader.ReadInt64();
                var words = reader.ReadInt64();
                if (added < 0 || words != WordsFor(capacity) || (stream.CanSeek && stream.Length - stream.Position < words * sizeof(ulong)))
                {
                    return null; // Damage, or a torn file: nothing is allocated for bits that are not there.
                }

                var segment = new Segment(capacity) { Added = added };

                stream.ReadExactly(MemoryMarshal.AsBytes(segment.Bits));
                segments[i] = segment;
            }

            return new StoredOrderIds(segments);
        }
        catch (EndOfStreamException)
        {
            return null;
        }
    }

    /// <summary>The words of bits a segment of <paramref name="capacity"/> ids holds: whole blocks, at least one.</summary>
    private static long WordsFor(long capacity) => Math.Max(1, capacity * BitsPerId / (WordsPerBlock * 64)) * WordsPerBlock;

    private static UInt128 Hash(string orderId) => XxHash128.HashToUInt128(MemoryMarshal.AsBytes(orderId.AsSpan()));

    private sealed class Segment
    {
        public Segment(long capacity)
        {
            Capacity = capacity;
            Blocks = WordsFor(capacity) / WordsPerBlock;

            // Pinned, and used from the first word on a 64-byte boundary: each block is then one cache line, where an
            // array's own alignment (8 bytes) splits 7 blocks in 8 over two.
            Words = GC.AllocateArray<ulong>(checked((int)((Blocks + 1) * WordsPerBlock)), pinned: true);
            _address = Marshal.UnsafeAddrOfPinnedArrayElement(Words, 0);
            First = (int)((64 - ((long)_address & 63)) & 63) / sizeof(ulong);
        }

        /// <summary>Where <see cref="Words"/> begins in memory (pinned: it never moves).</summary>
        private readonly nint _address;

        public long Capacity { get; }

        public long Added;

        public long Blocks { get; }

        /// <summary>The array that holds the filter's bits, from <see cref="First"/> on (see <see cref="Bits"/>).</summary>
        public ulong[] Words { get; }

        public int First { get; }

        /// <summary>The filter's bits: <see cref="Blocks"/> blocks of <see cref="WordsPerBlock"/> words.</summary>
        public Span<ulong> Bits => Words.AsSpan(First, checked((int)(Blocks * WordsPerBlock)));

        public bool MayContain(UInt128 hash)
        {
            var block = Locate(hash);
            var positions = new Positions(hash);
            for (var i = 0; i < ProbesPerId; i++)
            {
                var bit = positions[i];
                if ((Volatile.Read(ref Words[block + (bit >> 6)]) & (1UL << (bit & 63))) == 0)
                {
                    return false;
                }
            }

            return true;
        }

        public void Add(UInt128 hash)
        {
            // The block's bits are gathered first and each word is then ORed once: at most 8 atomic operations on the
            // one cache line instead of 16 (loading 30 million ids took 8.8 s with one per bit).
            var block = Locate(hash);
            var positions = new Positions(hash);
            Span<ulong> bits = stackalloc ulong[WordsPerBlock];
            for (var i = 0; i < ProbesPerId; i++)
            {
                var bit = positions[i];
                bits[bit >> 6] |= 1UL << (bit & 63);
            }

            for (var word = 0; word < WordsPerBlock; word++)
            {
                if (bits[word] != 0 && (Volatile.Read(ref Words[block + word]) & bits[word]) != bits[word])
                {
                    Interlocked.Or(ref Words[block + word], bits[word]);
                }
            }
        }

        /// <summary>
        /// Brings the id's block into the cache without waiting for it: a prefetch instruction on x86 (the array is pinned,
        /// so its address holds), else a read of its first word, whose value the caller must keep (returned; 0 on x86).
        /// </summary>
        public unsafe ulong Prefetch(UInt128 hash)
        {
            var word = Locate(hash);
            if (Sse.IsSupported)
            {
                Sse.Prefetch0((void*)(_address + (word * sizeof(ulong))));
                return 0;
            }

            return Volatile.Read(ref Words[word]);
        }

        /// <summary>Where the id's block begins in <see cref="Words"/>, from the high half of its hash (the low half places its bits).</summary>
        private long Locate(UInt128 hash) =>
            First + ((long)(ulong)(((UInt128)(ulong)(hash >> 64) * (ulong)Blocks) >> 64) * WordsPerBlock);
    }

    /// <summary>
    /// The positions (0 to 511) of an id's bits within its block, nine bits of hash each: seven from the low half of its
    /// hash, seven from a mix of it (SplitMix64's finaliser) and two from another mix: 7 + 7 + 2 for the 16 probes. Format 1 mixed the
    /// hash once per probe: with the cache misses of a load overlapped, those 16 mixes were most of its time (370 ns an
    /// id against 200, in groups of 32 with the block reads of the time, measured with a probe program on 2026-12-05). Positions from one arithmetic
    /// sequence were measured 60 times likelier to report an unknown id as stored.
    /// </summary>
    private readonly struct Positions(UInt128 hash)
    {
        private readonly ulong _low = (ulong)hash;
        private readonly ulong _mixed = Mix((ulong)hash + 0x9E3779B97F4A7C15UL);
        private readonly ulong _mixedAgain = Mix((ulong)hash + 0x3C6EF372FE94F82AUL); // Twice the constant above, modulo 2^64.

        public int this[int probe] => (int)((probe < 7 ? _low >> (9 * probe) : probe < 14 ? _mixed >> (9 * (probe - 7)) : _mixedAgain >> (9 * (probe - 14))) & 511);

        private static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
