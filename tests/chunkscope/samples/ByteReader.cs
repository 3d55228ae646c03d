// C#: members inside #if/#else, alternative statement headers, pointer casts.
using System;

namespace Sample.IO
{
    public sealed class ByteReader : IDisposable
    {
        private byte[] _buffer;

#if ENABLE_SPAN
        public ReadOnlySpan<byte> Span => _buffer;
#else
        public byte[] Array => _buffer;
#endif

        public unsafe void PutFloat(int offset, float value)
        {
#if ENABLE_SPAN
            fixed (byte* ptr = &MemoryMarshal.GetReference(Span))
#else
            fixed (byte* ptr = _buffer)
#endif
            {
                *(float*)(ptr + offset) = value;
            }
        }

#if UNSAFE
        public unsafe int GetInt(int offset)
        {
            fixed (byte* ptr = _buffer)
            {
                return *(int*)(ptr + offset);
            }
        }
#else
        public int GetInt(int offset)
        {
            return BitConverter.ToInt32(_buffer, offset);
        }
#endif

        public void Dispose() { }
    }
}
