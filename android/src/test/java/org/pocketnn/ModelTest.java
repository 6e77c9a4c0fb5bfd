package org.pocketnn;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The Java API on the host JVM against the host libpocketnn_ffi.so: the seed MLP's logits for the
 * ten digits of models/digits.npy must match onnxruntime's (crates/ffi/tests/data), and errors
 * must arrive as PocketnnExceptions with the right status.
 *
 * <p>System properties: pocketnn.model (a .pnn), pocketnn.digits (digits.npy),
 * pocketnn.reference (seed_mlp_digits_logits.txt), pocketnn.workdir (a writable directory).
 */
public class ModelTest {
    private static String modelPath;
    private static float[] digits;
    private static float[][] reference;
    private static Path workDir;

    @BeforeClass
    public static void readTestData() throws IOException {
        modelPath = System.getProperty("pocketnn.model");
        workDir = Paths.get(System.getProperty("pocketnn.workdir"));
        byte[] npy = Files.readAllBytes(Paths.get(System.getProperty("pocketnn.digits")));
        int header = 10 + (npy[8] & 0xff) + 256 * (npy[9] & 0xff);
        digits = new float[10 * 784];
        ByteBuffer.wrap(npy, header, npy.length - header)
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer()
                .get(digits);
        List<float[]> rows = new ArrayList<>();
        for (String line :
                Files.readAllLines(Paths.get(System.getProperty("pocketnn.reference")))) {
            if (line.startsWith("#")) continue;
            String[] fields = line.trim().split("\\s+");
            float[] row = new float[fields.length];
            for (int i = 0; i < row.length; i++) row[i] = Float.parseFloat(fields[i]);
            rows.add(row);
        }
        reference = rows.toArray(new float[0][]);
        assertEquals(10, reference.length);
    }

    private static Map<String, Tensor> digitsInput() {
        return Collections.singletonMap("input", Tensor.fromFloats(digits, 10, 1, 28, 28));
    }

    /** Checks logits [10 x 10] against onnxruntime and the predicted digits. */
    private static void checkLogits(float[] logits) {
        assertEquals(100, logits.length);
        for (int d = 0; d < 10; d++) {
            int best = 0;
            for (int c = 0; c < 10; c++) {
                float got = logits[d * 10 + c];
                assertEquals("logit [" + d + "][" + c + "]", reference[d][c], got, 1e-3f);
                if (got > logits[d * 10 + best]) best = c;
            }
            assertEquals("digit " + d, d, best);
        }
    }

    private static float[] runDigits(Model model) {
        try (Session session = model.newSession(1)) {
            Map<String, Tensor> out = session.run(digitsInput());
            assertEquals(Collections.singleton("logits"), out.keySet());
            Tensor logits = out.get("logits");
            assertEquals(Tensor.DType.F32, logits.dtype());
            assertArrayEquals(new long[] {10, 10}, logits.shape());
            return logits.toFloatArray();
        }
    }

    private static void expectStatus(int status, Runnable call) {
        try {
            call.run();
            fail("expected a PocketnnException with status " + status);
        } catch (PocketnnException e) {
            assertEquals(e.getMessage(), status, e.status());
            assertFalse(e.getMessage().isEmpty());
        }
    }

    @Test
    public void loadsFromAPathDescribesIoAndMatchesOnnxruntime() {
        assertFalse(Model.version().isEmpty());
        try (Model model = Model.load(modelPath)) {
            assertTrue(model.isMemoryMapped());
            assertEquals(1, model.inputCount());
            assertEquals(1, model.outputCount());
            assertEquals("input", model.inputName(0));
            assertEquals("logits", model.outputName(0));
            assertEquals(Tensor.DType.F32, model.inputDType(0));
            assertArrayEquals(new long[] {-1, 1, 28, 28}, model.inputShape(0));
            assertArrayEquals(new long[] {-1, 10}, model.outputShape(0));
            checkLogits(runDigits(model));
        }
    }

    @Test
    public void loadsFromHeapAndDirectByteBuffers() throws IOException {
        byte[] bytes = Files.readAllBytes(Paths.get(modelPath));
        float[] expected;
        try (Model model = Model.load(modelPath)) {
            expected = runDigits(model);
        }
        ByteBuffer heap = ByteBuffer.allocate(bytes.length + 7);
        heap.position(7);
        heap.put(bytes);
        heap.position(7);
        try (Model model = Model.fromByteBuffer(heap)) {
            assertFalse(model.isMemoryMapped());
            assertArrayEquals(expected, runDigits(model), 0f);
        }
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length + 3);
        direct.position(3);
        direct.put(bytes);
        direct.position(3);
        try (Model model = Model.fromByteBuffer(direct)) {
            assertArrayEquals(expected, runDigits(model), 0f);
        }
    }

    @Test
    public void loadsFromAFileDescriptorRange() throws IOException {
        byte[] bytes = Files.readAllBytes(Paths.get(modelPath));
        Path packed = workDir.resolve("packed-java.bin");
        try (FileOutputStream out = new FileOutputStream(packed.toFile())) {
            out.write(new byte[4096]);
            out.write(bytes);
            out.write(new byte[33]);
        }
        try (FileInputStream in = new FileInputStream(packed.toFile())) {
            FileDescriptor fd = in.getFD();
            try (Model model = Model.fromFileDescriptor(fd, 4096, bytes.length)) {
                assertTrue(model.isMemoryMapped());
                checkLogits(runDigits(model));
            }
            expectStatus(
                    PocketnnException.IO,
                    () -> Model.fromFileDescriptor(fd, 4096, bytes.length + 100));
        }
    }

    @Test
    public void badModelsAreErrors() {
        expectStatus(PocketnnException.IO, () -> Model.load("/no/such/model.pnn"));
        expectStatus(
                PocketnnException.INVALID_MODEL,
                () -> Model.fromByteBuffer(ByteBuffer.wrap(new byte[1000])));
        expectStatus(PocketnnException.NULL_POINTER, () -> Model.load(null));
        expectStatus(PocketnnException.NULL_POINTER, () -> Model.fromByteBuffer(null));
        expectStatus(PocketnnException.INVALID_ARGUMENT, () -> Model.fromFileDescriptor(-1, 0, 10));
        expectStatus(
                PocketnnException.INVALID_ARGUMENT, () -> Model.fromFileDescriptor(0, -5, 10));
    }

    @Test
    public void badInputsAndOutputsAreErrors() {
        try (Model model = Model.load(modelPath);
                Session session = model.newSession(1)) {
            expectStatus(PocketnnException.NO_RESULTS, () -> session.output(0));
            Map<String, Tensor> wrongName =
                    Collections.singletonMap("pixels", Tensor.fromFloats(digits, 10, 1, 28, 28));
            expectStatus(PocketnnException.UNKNOWN_NAME, () -> session.run(wrongName));
            expectStatus(
                    PocketnnException.MISSING_INPUT,
                    () -> session.run(new HashMap<String, Tensor>()));
            expectStatus(
                    PocketnnException.SIZE_MISMATCH,
                    () -> Tensor.fromFloats(digits, 10, 1, 28, 27));
            ByteBuffer short_ = ByteBuffer.allocate(10 * 784 * 4 - 4);
            Map<String, Tensor> tooShort =
                    Collections.singletonMap(
                            "input", Tensor.fromBytes(Tensor.DType.F32, short_, 10, 1, 28, 28));
            expectStatus(PocketnnException.SIZE_MISMATCH, () -> session.run(tooShort));
            ByteBuffer ints = ByteBuffer.allocate(10 * 784 * 4);
            Map<String, Tensor> wrongType =
                    Collections.singletonMap(
                            "input", Tensor.fromBytes(Tensor.DType.I32, ints, 10, 1, 28, 28));
            expectStatus(PocketnnException.WRONG_DTYPE, () -> session.run(wrongType));
            Map<String, Tensor> wrongShape =
                    Collections.singletonMap("input", Tensor.fromFloats(digits, 10, 1, 784));
            expectStatus(PocketnnException.WRONG_SHAPE, () -> session.run(wrongShape));

            session.run(digitsInput());
            expectStatus(PocketnnException.OUT_OF_RANGE, () -> session.output(1));
            expectStatus(PocketnnException.OUT_OF_RANGE, () -> session.output(-1));
            ByteBuffer small = ByteBuffer.allocateDirect(399).order(ByteOrder.nativeOrder());
            expectStatus(
                    PocketnnException.BUFFER_TOO_SMALL,
                    () -> session.copyOutput(0, Tensor.DType.F32, small));
            ByteBuffer enough = ByteBuffer.allocateDirect(400).order(ByteOrder.nativeOrder());
            expectStatus(
                    PocketnnException.WRONG_DTYPE,
                    () -> session.copyOutput(0, Tensor.DType.I64, enough));
            expectStatus(
                    PocketnnException.INVALID_ARGUMENT,
                    () -> session.copyOutput(0, Tensor.DType.F32, ByteBuffer.allocate(400)));
            session.copyOutput(0, Tensor.DType.F32, enough);
            float[] copied = new float[100];
            enough.asFloatBuffer().get(copied);
            checkLogits(copied);
            expectStatus(PocketnnException.WRONG_DTYPE, () -> wrongType.get("input").toFloatArray());
        }
    }

    @Test
    public void closedHandlesAreErrorsAndSessionsOutliveTheirModel() {
        Model model = Model.load(modelPath);
        Session session = model.newSession(2);
        model.close();
        model.close();
        expectStatus(PocketnnException.NULL_POINTER, model::inputCount);
        expectStatus(PocketnnException.NULL_POINTER, () -> model.newSession(1));
        checkLogits(session.run(digitsInput()).get("logits").toFloatArray());
        session.close();
        session.close();
        expectStatus(PocketnnException.NULL_POINTER, () -> session.run(digitsInput()));
        try (Model again = Model.load(modelPath)) {
            expectStatus(PocketnnException.INVALID_ARGUMENT, () -> again.newSession(-1));
        }
    }

    @Test
    public void oneModelManyThreads() throws InterruptedException {
        try (Model model = Model.load(modelPath)) {
            float[] expected = runDigits(model);
            List<Thread> threads = new ArrayList<>();
            List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < 4; t++) {
                Thread thread =
                        new Thread(
                                () -> {
                                    try {
                                        for (int run = 0; run < 20; run++) {
                                            assertArrayEquals(expected, runDigits(model), 0f);
                                        }
                                    } catch (Throwable e) {
                                        errors.add(e);
                                    }
                                });
                threads.add(thread);
                thread.start();
            }
            for (Thread thread : threads) thread.join();
            assertEquals(Collections.emptyList(), errors);
        }
    }
}
