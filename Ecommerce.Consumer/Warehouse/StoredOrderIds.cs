using System.IO.Hashing;
using System.Runtime.InteropServices;

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
    private const ulong ProbesPerId = 16;
    private const int WordsPerBlock = 8;
    private const long SmallestCapacity = 1 << 20;
    private const long MaxCapacity = 1L << 36; // 256 GB of bits: any larger count in a saved file is damage.

    private readonly Lock _growth = new();
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

    private const long FileFormat = 0x3153_4449_5245_444F; // "ODERIDS1", little-endian.

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
            writer.Write(segment.Words.LongLength);
            writer.Write(MemoryMarshal.AsBytes(segment.Words.AsSpan()));
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

                var segment = new Segment(capacity) { Added = reader.ReadInt64() };
                if (reader.ReadInt64() != segment.Words.LongLength)
                {
                    return null;
                }

                stream.ReadExactly(MemoryMarshal.AsBytes(segment.Words.AsSpan()));
                segments[i] = segment;
            }

            return new StoredOrderIds(segments);
        }
        catch (EndOfStreamException)
        {
            return null;
        }
    }

    private static UInt128 Hash(string orderId) => XxHash128.HashToUInt128(MemoryMarshal.AsBytes(orderId.AsSpan()));

    private sealed class Segment
    {
        public Segment(long capacity)
        {
            Capacity = capacity;
            var blocks = Math.Max(1, capacity * BitsPerId / (WordsPerBlock * 64));
            Words = new ulong[blocks * WordsPerBlock];
        }

        public long Capacity { get; }

        public long Added;

        public ulong[] Words { get; }

        public bool MayContain(UInt128 hash)
        {
            var (block, seed) = Locate(hash);
            for (var i = 0UL; i < ProbesPerId; i++)
            {
                var bit = Probe(seed, i);
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
            var (block, seed) = Locate(hash);
            Span<ulong> bits = stackalloc ulong[WordsPerBlock];
            for (var i = 0UL; i < ProbesPerId; i++)
            {
                var bit = Probe(seed, i);
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

        /// <summary>The block, from the high half of the hash; the low half seeds the probes within it.</summary>
        private (long Block, ulong Seed) Locate(UInt128 hash)
        {
            var blocks = (ulong)(Words.LongLength / WordsPerBlock);
            var block = (long)(ulong)(((UInt128)(ulong)(hash >> 64) * blocks) >> 64) * WordsPerBlock;
            return (block, (ulong)hash);
        }

        /// <summary>
        /// The i-th bit (0 to 511) of an id within its block: each from its own mix of the seed (SplitMix64's
        /// finaliser). Positions taken from one arithmetic sequence instead were measured 60 times likelier to report
        /// an unknown id as stored.
        /// </summary>
        private static int Probe(ulong seed, ulong i)
        {
            var z = seed + (i * 0x9E3779B97F4A7C15UL);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return (int)((z ^ (z >> 31)) >> 55);
        }
    }
}
