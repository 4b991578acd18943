using System.Runtime.InteropServices;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// The CPU time the service has spent in each <see cref="IngestionStage"/> since it started, so that an operator (and
/// the benchmark) can see where an order's CPU goes, not only which thread spent it. Counts only grow. Nothing is
/// counted where the thread's clock cannot be read (other systems than Linux).
/// <list type="bullet">
/// <item>A batch's stages are timed by the calling thread's own CPU clock (Linux's <c>CLOCK_THREAD_CPUTIME_ID</c>), read
/// at their start and end, so waiting costs nothing. A stage that must wait (a read of the warehouse that cannot answer
/// at once) is suspended across the wait (<see cref="Timing.SuspendUnless"/>) rather than timed through it: the thread
/// runs other work meanwhile, which would otherwise be counted too.</item>
/// <item>The consume loop's stages come once per record, a few microseconds each, where a read of the thread's clock (a
/// system call: 1.3 µs on the project's build machine) would cost as much as the stage. There the loop's clock is read
/// once every <see cref="LoopTimer.ReadEvery"/> turns, the parsing of each record is timed by the wall clock, and each
/// round's CPU is shared out: to parsing what its wall time says, up to the round's CPU, and the rest to reading.</item>
/// </list>
/// </summary>
public static partial class CpuByStage
{
    private const int ThreadCpuClock = 3; // CLOCK_THREAD_CPUTIME_ID in <time.h>.

    private static readonly long[] s_nanoseconds = new long[Enum.GetValues<IngestionStage>().Length];

    /// <summary>Whether this system's thread CPU clock can be read (64-bit Linux, whose clock values this reads); nothing is counted otherwise.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && Environment.Is64BitProcess && TryReadThreadClock(out _);

    /// <summary>Starts timing <paramref name="stage"/> on this thread; disposing the result counts it.</summary>
    public static Timing Start(IngestionStage stage) => new(stage);

    /// <summary>CPU seconds counted so far, by stage.</summary>
    public static IReadOnlyDictionary<IngestionStage, double> Seconds() =>
        Enum.GetValues<IngestionStage>().ToDictionary(stage => stage, stage => Interlocked.Read(ref s_nanoseconds[(int)stage]) / 1e9);

    private static void Add(IngestionStage stage, long nanoseconds) => Interlocked.Add(ref s_nanoseconds[(int)stage], nanoseconds);

    /// <summary>A stage being timed on one thread, or suspended across a wait.</summary>
    public sealed class Timing : IDisposable
    {
        private readonly IngestionStage _stage;
        private long _startedAt = -1;
        private int _thread;

        internal Timing(IngestionStage stage)
        {
            _stage = stage;
            Resume();
        }

        /// <summary>
        /// Before awaiting a task that has not <paramref name="completed"/> (the await lets the thread go): counts the stage
        /// up to here and suspends it until <see cref="Resume"/>, after the await. Nothing if it has completed.
        /// </summary>
        public void SuspendUnless(bool completed)
        {
            if (!completed)
            {
                Dispose();
            }
        }

        /// <summary>Times the stage again from here, on this thread, if it was suspended.</summary>
        public void Resume()
        {
            if (_startedAt < 0 && IsSupported && TryReadThreadClock(out var now))
            {
                _startedAt = now;
                _thread = Environment.CurrentManagedThreadId;
            }
        }

        /// <summary>Counts the stage's CPU since it started or resumed, unless it ended on another thread, and suspends it.</summary>
        public void Dispose()
        {
            if (_startedAt >= 0 && Environment.CurrentManagedThreadId == _thread && TryReadThreadClock(out var now))
            {
                Add(_stage, now - _startedAt);
            }

            _startedAt = -1;
        }
    }

    /// <summary>
    /// The consume loop's CPU, read from its thread's clock every <see cref="ReadEvery"/> turns and shared out between
    /// <see cref="IngestionStage.Read"/> and <see cref="IngestionStage.ParseAndValidate"/> (see the class). One per loop.
    /// </summary>
    public sealed class LoopTimer
    {
        /// <summary>Turns of the loop between two reads of its thread's clock.</summary>
        public const int ReadEvery = 64;

        private int _turns;
        private long _last = -1;
        private int _thread;
        private long _parsingTicks;

        /// <summary>Counts <paramref name="elapsedTicks"/> of <see cref="System.Diagnostics.Stopwatch"/> spent parsing and validating a record.</summary>
        public void AddParsing(long elapsedTicks) => _parsingTicks += elapsedTicks;

        /// <summary>Counts a turn of the loop, on the loop's thread (should it move, the round is lost).</summary>
        public void Turn()
        {
            // The first turn reads the clock too, so that what the loop spends before its first full round counts.
            if ((++_turns < ReadEvery && _last >= 0) || !IsSupported)
            {
                return;
            }

            _turns = 0;
            var thread = Environment.CurrentManagedThreadId;
            if (!TryReadThreadClock(out var now))
            {
                return;
            }

            var parsing = (long)(_parsingTicks * (1e9 / System.Diagnostics.Stopwatch.Frequency));
            _parsingTicks = 0;
            if (_last >= 0 && thread == _thread)
            {
                var spent = now - _last;
                var parsed = Math.Clamp(parsing, 0, spent);
                Add(IngestionStage.ParseAndValidate, parsed);
                Add(IngestionStage.Read, spent - parsed);
            }

            _last = now;
            _thread = thread;
        }
    }

    private static bool TryReadThreadClock(out long nanoseconds)
    {
        if (ClockGetTime(ThreadCpuClock, out var value) != 0)
        {
            nanoseconds = 0;
            return false;
        }

        nanoseconds = (value.Seconds * 1_000_000_000) + value.Nanoseconds;
        return true;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec value);
}
