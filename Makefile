# Transformer Problems: a literate program in C. The one entry point.
#
#   make              tangle the book, build the library, programs and tests,
#                     render the figures, typeset build/transformer-problems.pdf
#   make check        build and run the TAP test suite with prove
#   make help         every target
#
# The chapters in book/ are the source of everything; tangled/ and tests/ are
# generated from them (and committed). Edit the chapter, never the tangled file.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-print-directory

BUILD := build
PDF := $(BUILD)/transformer-problems.pdf

# Chapters in book order: the three-digit prefix orders them and says where
# each belongs (000-099 front matter, 100-899 main matter, 900-999 appendices).
CHAPTERS := $(sort $(wildcard book/*.nw))
BADLY_NAMED := $(shell printf '%s\n' $(CHAPTERS) \
    | grep -Ev '^book/[0-9]{3}-[a-z0-9-]+\.nw$$')
ifneq ($(BADLY_NAMED),)
$(error chapter files must be named book/NNN-name.nw: $(BADLY_NAMED))
endif

# ---------------------------------------------------------------- packages
# Every Debian package the project needs, and nothing from anywhere else.
PACKAGES_BUILD := gcc make pkg-config perl noweb libopenblas-openmp-dev \
    libcjson-dev libcairo2-dev libpango1.0-dev fonts-lmodern fonts-texgyre \
    fonts-dejavu-core poppler-utils unicode-data python3-regex \
    libprotobuf-c-dev protobuf-c-compiler
PACKAGES_BOOK := texlive-latex-base texlive-latex-recommended \
    lmodern tex-gyre latexmk
NEED := mk/need-packages

# ---------------------------------------------------------------- compiling
CC ?= cc
# -march=native lets the compiler use every instruction of the processor
# that builds (AVX-512 where there is one): the vectorised loops of the
# library then run two to four times as many numbers per instruction, as
# OpenBLAS's and PyTorch's kernels do by choosing at run time. The programs
# then run only on processors like this one; `make NATIVE=0` builds for any.
# GCC's -O2 vectorises only the loops that need no test at run time;
# -fvect-cost-model=cheap lets it test, once per loop, that the output does
# not overlap an input, which most of the library's loops need. A flag the
# compiler does not know (Clang has no -fvect-cost-model) is left out.
accepts = $(shell echo 'int main(void){return 0;}' \
    | $(CC) $(1) -Werror -x c - -o /dev/null 2>/dev/null && echo $(1))
NATIVE ?= 1
MARCH := $(if $(filter 1,$(NATIVE)),$(call accepts,-march=native))
ifeq ($(origin OPTIMIZE),undefined)
OPTIMIZE := -O2 $(MARCH) $(call accepts,-fvect-cost-model=cheap)
endif
WERROR ?= -Werror
CFLAGS ?= $(OPTIMIZE) -g
# -fno-trapping-math and -fno-math-errno: the library never reads
# floating-point exception flags or errno after a function of <math.h>, and
# these let the compiler vectorise loops that compare floats or take square
# roots; unlike -ffast-math they change no result.
TP_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra $(WERROR) \
    -fno-trapping-math -fno-math-errno -MMD -MP -Itangled/include \
    -Itangled/tools/tp -Itests
# OpenBLAS, in its OpenMP build: its worker threads are OpenMP's threads, so
# BLAS and the library's own parallel loops share one pool of threads instead
# of two pools fighting over the same cores. The rpath makes the program load
# that build whichever one Debian's alternatives made the default.
OPENBLAS_PKGCONFIG := $(firstword $(wildcard /usr/lib/*/openblas-openmp/pkgconfig))
OPENBLAS := PKG_CONFIG_PATH=$(OPENBLAS_PKGCONFIG) pkg-config openblas
BLAS_CFLAGS := $(shell $(OPENBLAS) --cflags 2>/dev/null)
comma := ,
BLAS_LIBS := $(shell $(OPENBLAS) --libs 2>/dev/null) \
    $(if $(OPENBLAS_PKGCONFIG),-Wl$(comma)-rpath$(comma)$(OPENBLAS_PKGCONFIG:/pkgconfig=))
# cJSON reads and writes the JSON header of safetensors checkpoints.
JSON_LIBS := $(shell pkg-config --libs libcjson 2>/dev/null || echo -lcjson)
# OpenMP runs the library's own parallel loops on the same threads as the
# OpenMP build of OpenBLAS. A compiler without OpenMP support (Clang without
# libomp) builds the same code serially.
OPENMP := $(call accepts,-fopenmp)
TP_CFLAGS += $(OPENMP)
LDFLAGS += $(OPENMP)

# Cairo draws the figures, Pango sets their text.
DRAW_CFLAGS := $(shell pkg-config --cflags pangocairo cairo-pdf cairo-png 2>/dev/null)
DRAW_LIBS := $(shell pkg-config --libs pangocairo cairo-pdf cairo-png 2>/dev/null)
TP_CFLAGS += $(BLAS_CFLAGS) $(DRAW_CFLAGS)
# protobuf-c encodes the ONNX files of tp gpt export; its compiler makes
# the C messages from the book's onnx.proto.
PROTOBUF_CFLAGS := $(shell pkg-config --cflags libprotobuf-c 2>/dev/null)
PROTOBUF_LIBS := $(shell pkg-config --libs libprotobuf-c 2>/dev/null \
    || echo -lprotobuf-c)
LDLIBS := $(BLAS_LIBS) $(JSON_LIBS) $(DRAW_LIBS) $(PROTOBUF_LIBS) -lm

# `make check SANITIZE=1` builds and runs everything with ASan and UBSan in a
# build directory of its own.
# `make fuzz` builds the library once more, with Clang's coverage
# instrumentation for libFuzzer and the same sanitizers, in build/fuzz.
ifneq ($(FUZZ),)
OBJ := $(BUILD)/fuzz
# The coverage counters keep Clang from vectorising some loops that ask
# for it; speed does not matter here, so that warning is not an error.
TP_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined \
    -fno-omit-frame-pointer -fno-sanitize-recover=all -Wno-pass-failed
LDFLAGS += -fsanitize=address,undefined
else ifneq ($(SANITIZE),)
OBJ := $(BUILD)/sanitize
TP_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
    -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
else
OBJ := $(BUILD)
endif

# ---------------------------------------------------------------- CUDA
# The kernels in tangled/cuda/ are compiled by nvcc when one is found, on
# the PATH or in /usr/local/cuda, into the same library; `make CUDA=0`
# builds without them. Explicit targets: sm_80 (A100) and sm_90 (H100);
# nvcc 13's default target lacks the bfloat16 tensor-core instructions.
# Without a GPU the kernels still compile, and their tests skip.
# cuBLAS is not linked: the kernels open it on first use (dlopen), since a
# linked cuBLAS (and its cuBLASLt) is loaded at every program's start, GPU
# or not; /usr/bin/time -f '%e s %R minfl' build/tp --help shows the cost.
CUDA ?= 1
ifeq ($(CUDA),1)
NVCC ?= $(or $(shell command -v nvcc 2>/dev/null),\
             $(wildcard /usr/local/cuda/bin/nvcc))
else
NVCC :=
endif
ifneq ($(NVCC),)
# The toolkit's root is where nvcc itself runs from, and nvcc says so: the
# nvcc on the PATH may be a wrapper script (/usr/local/bin/nvcc on some
# machines) whose directory holds no CUDA headers.
CUDA_HOME := $(shell $(NVCC) --dryrun -x cu -c /dev/null -o /dev/null 2>&1 \
    | sed -n 's|.*_HERE_=\(.*\)/bin$$|\1|p')
ifeq ($(wildcard $(CUDA_HOME)/include/cuda_runtime_api.h),)
$(warning nvcc ($(NVCC)) found but not its CUDA headers: building without CUDA)
NVCC :=
endif
endif
ifneq ($(NVCC),)
NVCC_FLAGS := -O3 -std=c++17 -lineinfo \
    -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
    -Xcompiler -Wall,-Wextra -Werror all-warnings -Itangled/include
TP_CFLAGS += -DTP_CUDA -isystem $(CUDA_HOME)/include
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 \
    -lcudart -lstdc++
CUDA_OBJECTS := $(patsubst tangled/cuda/%.cu,$(OBJ)/cuda/%.o,\
    $(wildcard tangled/cuda/*.cu))
endif

LIB_SOURCES := $(wildcard tangled/src/*.c)
LIB_OBJECTS := $(LIB_SOURCES:tangled/src/%.c=$(OBJ)/lib/%.o) $(CUDA_OBJECTS)
LIB := $(if $(LIB_OBJECTS),$(OBJ)/libtp.a)
# The tp program: one file per chapter in tangled/tools/tp/, all but main.c
# in an archive that the tests link too (the figure tests draw every
# chapter's figures).
PROGRAM_PARTS := $(filter-out tangled/tools/tp/main.c,\
    $(wildcard tangled/tools/tp/*.c))
PROGRAM_OBJECTS := $(PROGRAM_PARTS:tangled/tools/tp/%.c=$(OBJ)/program/%.o)
PROGRAM_LIB := $(OBJ)/libtp-program.a
PROGRAMS := $(OBJ)/tp
# The book's example programs, built against the library as a reader's
# own program would be.
EXAMPLES := $(patsubst tangled/examples/%.c,$(OBJ)/examples/%,\
    $(wildcard tangled/examples/*.c))
# The course's hidden tests (tests/hidden_*.c) run with the others here;
# a handout has none.
TEST_SOURCES := $(wildcard tests/t_*.c tests/hidden_*.c)
TESTS := $(TEST_SOURCES:tests/%.c=$(OBJ)/tests/%)
TEST_OBJECTS := $(TESTS:%=%.o)

# The default corpus of every tp command is the book itself, generated from
# the chapters into a C array and linked into every program and test. It is
# the one object a prose-only edit rebuilds; no code is recompiled.
CORPUS := $(OBJ)/gen/book-corpus.o
# The classes of characters of GPT-2's pre-tokenisation (letters, numbers,
# white space), generated from the Unicode data that Debian's unicode-data
# ships, by an awk program of the data chapter; part of the library.
UNICODE_DATA := /usr/share/unicode
UNICODE_CLASSES := $(OBJ)/gen/unicode-classes.o
LIB_OBJECTS += $(UNICODE_CLASSES)

# ---------------------------------------------------------------- top level
.PHONY: all check prove tangle check-tangle library programs test-programs \
    figures measure-matmul measure-gpt measure-attention measure-quadratic \
    measure-vanilla measure-vit measure-bert measure-positions measure-cuda \
    cuda-resources pdf deps clean help fuzz fuzz-run install uninstall \
    measure-instability measure-oversmoothing measure-depth measure-decoding \
    measure-distill measure-memory measure-maskpredict \
    measure-instability-depth24 measure-instability-depth24-wide \
    measure-instability-depth24-wide-1 measure-instability-depth24-wide-2 \
    measure-instability-depth24-parts measure-modern measure-performer \
    measure-reformer measure-longformer measure-sparse measure-switch \
    measure-size measure-compute measure-interpretability measure-xl \
    measure-context measure-stream measure-noise measure-localbias \
    measure-datahunger measure-dense measure-hardware measure-deployment edge \
    handout handout-check exercise grade grade-base grade-all autograder \
    course-check solutions-pdf assignment-pdf measure-data \
    measure-instability-spikes measure-instability-runs measure-frontier

all:
	@$(NEED) $(PACKAGES_BUILD) $(PACKAGES_BOOK)
	@$(MAKE) tangle
	@$(MAKE) programs test-programs figures pdf

check:
	@$(NEED) $(PACKAGES_BUILD)
	@$(MAKE) tangle
	@$(MAKE) prove

# A separate make, so that tests the tangle just created are on the list.
# prove runs PROVE_JOBS programs at a time, a core each: OMP_NUM_THREADS is
# 1 unless the caller sets it, for two programs of two OpenMP threads each
# on two cores spin against each other (a plain make check took 335 s of
# wall and 660 s of processor time that way, against 60 s and 110 s).
# The slowest run first so that no core idles at the end:
# these took over 1.5 s of user+sys each, measured one after another
# (/usr/bin/time on each of build/tests/t_*).
PROVE_JOBS ?= 2
SLOW_TESTS := $(addprefix $(OBJ)/tests/,t_gpt_command t_draw t_decoding \
    t_quadratic t_bert t_vit t_data t_compute_command t_dense)
prove: programs test-programs
	@OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} TP_PROGRAM=$(OBJ)/tp \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/mk/lsan.supp:print_suppressions=0 \
	    prove -j$(PROVE_JOBS) $(filter $(TESTS),$(SLOW_TESTS)) \
	    $(filter-out $(SLOW_TESTS),$(TESTS))

deps:
	@$(NEED) $(PACKAGES_BUILD) $(PACKAGES_BOOK)
	@echo "All the Debian packages the project needs are installed."

help:
	@echo "make               tangle, build, render figures, typeset $(PDF)"
	@echo "make check         build and run the TAP tests with prove"
	@echo "make check SANITIZE=1   the same under ASan and UBSan"
	@echo "make fuzz          run every file reader's fuzz harness (Clang, libFuzzer),"
	@echo "                   FUZZ_SECONDS (60) seconds each"
	@echo "make tangle        extract tangled/ and tests/ from book/*.nw"
	@echo "make check-tangle  fail if tangled/ or tests/ differ from the book"
	@echo "make pdf           weave and typeset the book"
	@echo "make figures       render every registered figure into figures/"
	@echo "make measure-matmul  re-measure the matrix products (figures/data)"
	@echo "make measure-gpt   train GPT-T for 1,000 steps (figures/data)"
	@echo "make measure-attention  time naive, tiled, linear attention, Linformer (figures/data)"
	@echo "make measure-quadratic  train GPT with exact, tiled, linear attention (figures/data)"
	@echo "make measure-performer  FAVOR+: error against m, time against T, GPT on the book (figures/data)"
	@echo "make measure-reformer  reversible layers: memory against depth; LSH against dense attention (figures/data)"
	@echo "make measure-longformer  window, global and dense attention against T; a long-document classifier (figures/data)"
	@echo "make measure-sparse  dense, strided and fixed attention against N; GPTs drawing pictures (figures/data)"
	@echo "make measure-vanilla  train the encoder-decoder on numbers (figures/data)"
	@echo "make measure-vit   train the Vision Transformer on shapes (figures/data)"
	@echo "make measure-localbias  ViT, CNN, hybrid, Swin against data size (figures/data)"
	@echo "make measure-bert  pre-train BERT, fine-tune it at five sizes (figures/data)"
	@echo "make measure-positions  every encoding of positions: order, length (figures/data)"
	@echo "make measure-data      the tokenisers' speed, GPT-2's with a 50,257-token stand-in (figures/data)"
	@echo "make measure-noise     padding, packing, the padding mask, token pruning (figures/data)"
	@echo "make measure-cuda  check and time the CUDA kernels, attention's too (needs a GPU)"
	@echo "make measure-hardware  the CPU's roofline of a block's operations, a GPT-T step's share outside products (figures/data)"
	@echo "make measure-instability  train deep GPTs with each fix for instability (figures/data)"
	@echo "make measure-oversmoothing  token similarity with depth, and each remedy (figures/data)"
	@echo "make -j2 measure-depth  both of the above, on two cores (the deep runs below are apart)"
	@echo "make measure-instability-depth24  depth 24, width 32: post-LN without warm-up against pre-LN with it, three seeds (figures/data)"
	@echo "make -j2 measure-instability-depth24-wide  depth 24, width 64, 500 steps, with GPT-2's recipe, two seeds (figures/data)"
	@echo "make measure-datahunger  accuracy against labelled images: scratch, MAE, transfer, DeiT (figures/data)"
	@echo "make measure-decoding  train a target and two drafts; time plain and speculative decoding (figures/data)"
	@echo "make measure-distill  a draft distilled from measure-decoding's target against one trained on the data (figures/data)"
	@echo "make measure-maskpredict  train an encoder-decoder and a mask-predict model on numbers; accuracy and time against iterations (figures/data)"
	@echo "make measure-memory  count and time a training step's memory; int8 and paged KV caches (figures/data)"
	@echo "make measure-modern  GPT-2's block against GQA, MQA, RMSNorm and SwiGLU: losses after the same steps (figures/data)"
	@echo "make measure-switch  a dense GPT and a Switch GPT of the same arithmetic: losses; the experts' load with and without balancing (figures/data)"
	@echo "make handout A=n   assignment n's handout in build/handout-n (the course appendix)"
	@echo "make handout-check A=n  build it; only its exercises may fail; grade it"
	@echo "make assignment-pdf A=n  the pages of the book assignment n needs"
	@echo "make exercise E=ID  re-tangle, rebuild, run exercise ID's tests"
	@echo "make grade A=n SUBMISSION=DIR  grade a copy of the handout:"
	@echo "                   build/grade-n/NAME/report.txt and results.json"
	@echo "make grade-all A=n SUBMISSIONS=DIR  grade every directory of DIR:"
	@echo "                   build/grades-n/grades.csv"
	@echo "make autograder A=n  Gradescope's autograder: build/autograder-n.zip"
	@echo "make course-check  check every assignment of the course"
	@echo "make solutions-pdf  the solutions and hidden tests: build/solutions.pdf"
	@echo "make measure-context  recall past the window: GPT, retrieval, kNN memory, Mamba; time per token (figures/data)"
	@echo "make measure-xl    a GPT and a Transformer-XL on the book: loss against the past each sees, decoding speed (figures/data)"
	@echo "make measure-stream a GPT (rotary positions) and a Transformer-XL read streams of 16 contexts: full cache, window, sinks, XL (figures/data)"
	@echo "make measure-interpretability  induction heads: train, find, ablate, patch; attributions; rollout in GPT, BERT and ViT (figures/data)"
	@echo "make measure-deployment  latency percentiles, memory budgets, tp-edge linked statically (figures/data)"
	@echo "make measure-compute  operations against the clock; int8 and int4 decoding and losses (figures/data)"
	@echo "make measure-frontier  nine GPTs of three widths and three depths: loss against operations per token, the Pareto frontier (figures/data)"
	@echo "make measure-dense  tokens and forward time against image side and frames; a hierarchical ViT's stages; tubelets on moving shapes (figures/data)"
	@echo "make measure-size  fine-tune with LoRA and in full, prune, time sparse products, share one block (figures/data)"
	@echo "make cuda-resources  registers, shared memory, spills of each kernel (nvcc)"
	@echo "make CUDA=0        build without the CUDA kernels even if nvcc is found"
	@echo "make NATIVE=0      build for any processor of this family, not only this one"
	@echo "make deps          install every Debian package the project needs"
	@echo "make install       install tp, libtp (static and shared), headers, tp.pc,"
	@echo "                   the man page and bash completion under PREFIX"
	@echo "                   (/usr/local); DESTDIR stages them elsewhere"
	@echo "make uninstall     remove what make install installed"
	@echo "make clean         remove build/"

# ---------------------------------------------------------------- tangling
# mk/tangle checks chunk hygiene, then rewrites only the files whose content
# changed, so a prose-only edit leaves every object file up to date.
tangle:
	@command -v notangle >/dev/null || $(NEED) noweb
	@mk/tangle $(CHAPTERS)

check-tangle:
	@command -v notangle >/dev/null || $(NEED) noweb
	@mk/tangle --check $(CHAPTERS)

# ---------------------------------------------------------------- building
library: $(LIB)
programs: $(PROGRAMS) $(EXAMPLES)
test-programs: $(TESTS) $(TEST_OBJECTS)

# `make V=1` shows each command in full.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-4s %s\n' $(1) $(2)
endif

# Every object depends on the flags it was compiled with, kept in a file
# that is rewritten only when they change: `make NATIVE=0`, `make CUDA=0` or
# another CC rebuilds what the earlier flags built.
BUILD_FLAGS := $(CC) $(TP_CFLAGS) $(CFLAGS) $(LDFLAGS) $(LDLIBS) $(NVCC)
$(OBJ)/flags: FORCE
	@mkdir -p $(@D)
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@
.PHONY: FORCE

$(OBJ)/lib/%.o: tangled/src/%.c $(OBJ)/flags
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(TP_CFLAGS) $(CFLAGS) -c $< -o $@

$(OBJ)/cuda/%.o: tangled/cuda/%.cu tangled/include/tp/kernels.h \
    tangled/include/tp/flash.h $(OBJ)/flags
	@mkdir -p $(@D)
	$(call say,NVCC,$@)
	$(Q)$(NVCC) $(NVCC_FLAGS) -c $< -o $@

$(OBJ)/libtp.a: $(LIB_OBJECTS)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(OBJ)/gen/book-corpus.c: $(CHAPTERS) mk/embed-corpus
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)mk/embed-corpus $@ $(CHAPTERS)

$(CORPUS): $(OBJ)/gen/book-corpus.c $(OBJ)/flags
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OBJ)/gen/unicode-classes.c: tangled/tools/unicode-classes.awk \
    $(UNICODE_DATA)/PropList.txt $(UNICODE_DATA)/UnicodeData.txt
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)awk -f $< $(UNICODE_DATA)/PropList.txt \
	    $(UNICODE_DATA)/UnicodeData.txt > $@

$(UNICODE_CLASSES): $(OBJ)/gen/unicode-classes.c $(OBJ)/flags
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OBJ)/program/%.o: tangled/tools/tp/%.c $(OBJ)/flags
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(TP_CFLAGS) $(CFLAGS) -c $< -o $@

# The ONNX messages: C made from the proto by protoc-c, part of the program.
ONNX_OBJECT := $(OBJ)/gen/onnx.pb-c.o
$(OBJ)/gen/onnx.pb-c.c: tangled/tools/tp/onnx.proto
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)protoc-c --proto_path=tangled/tools/tp --c_out=$(OBJ)/gen onnx.proto
$(OBJ)/gen/onnx.pb-c.h: $(OBJ)/gen/onnx.pb-c.c
$(ONNX_OBJECT): $(OBJ)/gen/onnx.pb-c.c $(OBJ)/flags
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(PROTOBUF_CFLAGS) -I$(OBJ)/gen -c $< -o $@
$(OBJ)/program/deploy.o: $(OBJ)/gen/onnx.pb-c.h
$(OBJ)/program/deploy.o: TP_CFLAGS += $(PROTOBUF_CFLAGS) -I$(OBJ)/gen

$(PROGRAM_LIB): $(PROGRAM_OBJECTS) $(ONNX_OBJECT)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(OBJ)/tp: $(OBJ)/program/main.o $(PROGRAM_LIB) $(LIB) $(CORPUS)
	@mkdir -p $(@D)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OBJ)/examples/%: tangled/examples/%.c $(LIB) $(CORPUS) $(OBJ)/flags
	@mkdir -p $(@D)
	$(call say,LINK,$@)
	$(Q)$(CC) $(TP_CFLAGS) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(CORPUS) \
	    $(LDLIBS) -o $@

# A test is compiled once and linked again whenever the library or the
# corpus changes (a handout, a graded submission): linking is quick.
$(OBJ)/tests/%.o: tests/%.c $(OBJ)/flags
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(TP_CFLAGS) $(CFLAGS) -c $< -o $@

$(OBJ)/tests/%: $(OBJ)/tests/%.o $(PROGRAM_LIB) $(LIB) $(CORPUS) $(OBJ)/flags
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(PROGRAM_LIB) $(LIB) \
	    $(CORPUS) $(LDLIBS) -o $@

# ---------------------------------------------------------------- edge
# tp-edge (Chapter 390): int8 decoding alone, built against the shared
# OpenBLAS as the other programs are, and with OpenBLAS and OpenMP linked
# in from their static archives, stripped. cJSON and the C library stay
# shared: Debian ships no static cJSON.
OPENBLAS_STATIC := $(OPENBLAS_PKGCONFIG:/pkgconfig=)/libopenblas.a
edge: $(OBJ)/tp-edge $(OBJ)/tp-edge-static
$(OBJ)/tp-edge: tangled/tools/edge/tp-edge.c $(LIB) $(CORPUS) $(OBJ)/flags
	$(call say,LINK,$@)
	$(Q)$(CC) $(TP_CFLAGS) $(CFLAGS) $(LDFLAGS) -s $< $(LIB) $(CORPUS) \
	    $(BLAS_LIBS) $(JSON_LIBS) -lm -o $@
$(OBJ)/tp-edge-static: tangled/tools/edge/tp-edge.c $(LIB) $(CORPUS) \
    $(OBJ)/flags
	$(call say,LINK,$@)
	$(Q)$(CC) $(TP_CFLAGS) $(CFLAGS) -s $< $(LIB) $(CORPUS) \
	    $(OPENBLAS_STATIC) -Wl,-Bstatic -lgomp -Wl,-Bdynamic \
	    $(JSON_LIBS) -lpthread -lm -o $@

# ---------------------------------------------------------------- fuzzing
# Each tests/fuzz_*.c is a libFuzzer harness of one reader. The harness
# writes its own seeds (valid files from the library's writers) into its
# corpus, then the fuzzer runs for FUZZ_SECONDS; a crash, leak, hang or
# sanitizer report stops it, keeps the input under build/fuzz/crashes/ and
# fails the target. Needs Clang (CI installs it).
FUZZ_SECONDS ?= 60
# Debian 12's Clang is version 14; libFuzzer's runtime comes with the
# package it only recommends.
PACKAGES_FUZZ := clang libclang-rt-14-dev
FUZZ_HARNESSES := $(patsubst tests/%.c,%,$(wildcard tests/fuzz_*.c))

fuzz:
	@$(NEED) $(PACKAGES_BUILD) $(PACKAGES_FUZZ)
	@$(MAKE) tangle
	@$(MAKE) FUZZ=1 CC=clang fuzz-run

fuzz-run: $(FUZZ_HARNESSES:%=$(OBJ)/harness/%)
	@mkdir -p $(OBJ)/crashes
	@for h in $(FUZZ_HARNESSES); do \
	    corpus=$(OBJ)/corpus/$$h; mkdir -p $$corpus; \
	    TP_FUZZ_SEEDS=$$corpus $(OBJ)/harness/$$h; \
	    printf '  FUZZ %s, %s s\n' $$h $(FUZZ_SECONDS); \
	    $(OBJ)/harness/$$h -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        -rss_limit_mb=2048 -artifact_prefix=$(OBJ)/crashes/$$h- \
	        $$corpus > $(OBJ)/harness/$$h.log 2>&1 \
	    || { tail -n 60 $(OBJ)/harness/$$h.log; \
	         echo "$$h: the fuzzer found a failure; its input is in $(OBJ)/crashes/"; \
	         exit 1; }; \
	    grep -E '^#[0-9]+.*DONE' $(OBJ)/harness/$$h.log | sed 's/^/       /'; \
	done

$(OBJ)/harness/%: tests/%.c tests/fuzz.h $(LIB) $(CORPUS) $(OBJ)/flags
	@mkdir -p $(@D)
	$(call say,LINK,$@)
	$(Q)$(CC) $(TP_CFLAGS) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer $< $(LIB) \
	    $(CORPUS) $(LDLIBS) -o $@

-include $(wildcard $(OBJ)/lib/*.d $(OBJ)/program/*.d \
    $(OBJ)/tests/*.d $(OBJ)/harness/*.d $(OBJ)/pic/*.d $(OBJ)/examples/*.d)

# ---------------------------------------------------------------- the course
# The book's appendix on the course builds these: handouts with stubs in
# the place of solutions, a grader, and their checks (tangled/course/).
COURSE := tangled/course
PACKAGES_COURSE := python3-jsonschema qpdf
need_assignment = $(if $(A),,$(error say which assignment: make $@ A=n))

handout: tangle
	$(need_assignment)
	@$(COURSE)/handout.sh $(A) $(BUILD)/handout-$(A)

handout-check: tangle
	$(need_assignment)
	@$(NEED) $(PACKAGES_COURSE)
	@$(MAKE) test-programs
	@$(COURSE)/course-check.sh $(A)

# The pages of the book that assignment n needs (in a handout: with its stubs).
assignment-pdf: $(PDF)
	$(need_assignment)
	@$(NEED) $(PACKAGES_COURSE)
	@$(COURSE)/assignment-pdf.sh $(A) $(PDF) $(TEX)/transformer-problems.aux \
	    $(BUILD)/assignment-$(A).pdf

exercise:
	$(if $(E),,$(error say which exercise: make exercise E=ID))
	@$(COURSE)/exercise.sh $(E)

# The grader builds with fixed flags, in a directory of its own; the
# objects of the instructor's book built there once are copied into each
# grading, so that only what a submission changes is compiled again.
GRADE_FLAGS = $(shell awk '$$1 == "flags" { $$1 = ""; print }' $(COURSE)/manifest)
grade-base: tangle
	@$(NEED) $(PACKAGES_BUILD)
	@$(MAKE) BUILD=$(BUILD)/grade-base $(GRADE_FLAGS) test-programs

grade: grade-base
	$(need_assignment)
	$(if $(SUBMISSION),,$(error say what to grade: make grade A=n SUBMISSION=DIR))
	@$(COURSE)/grade.sh $(A) "$(SUBMISSION)" \
	    "$(BUILD)/grade-$(A)/$(notdir $(abspath $(SUBMISSION)))"

grade-all: grade-base
	$(need_assignment)
	$(if $(SUBMISSIONS),,$(error say where the submissions are: make grade-all A=n SUBMISSIONS=DIR))
	@$(COURSE)/grade-all.sh $(A) "$(SUBMISSIONS)" $(BUILD)/grades-$(A)

autograder: tangle
	$(need_assignment)
	@mkdir -p $(BUILD)
	@$(COURSE)/autograder.sh $(A) $(BUILD)/autograder-$(A).zip

solutions-pdf: tangle
	@$(NEED) $(PACKAGES_BOOK)
	@mkdir -p $(BUILD)/solutions
	@$(COURSE)/solutions.sh $(BUILD)/solutions/solutions.tex
	@cd $(BUILD)/solutions && latexmk -pdf -interaction=nonstopmode \
	    -halt-on-error -quiet solutions.tex > latexmk.out 2>&1 \
	    || { tail -n 30 latexmk.out; exit 1; }
	@cp $(BUILD)/solutions/solutions.pdf $(BUILD)/solutions.pdf
	@echo "The solutions: $(BUILD)/solutions.pdf"

course-check: tangle
	@$(NEED) $(PACKAGES_BUILD) $(PACKAGES_COURSE)
	@$(MAKE) test-programs
	@$(COURSE)/course-check.sh

# ---------------------------------------------------------------- figures
# Every registered figure, drawn by `tp figures` into figures/ (a file is
# rewritten only when its bytes change). Plots of measured things read the
# tables in figures/data/; `make figures` never measures. The measure-*
# targets re-measure on this machine and rewrite those tables.
figures: programs
	@$(OBJ)/tp figures --all --out figures

measure-matmul: programs
	$(OBJ)/tp bench matmul --tsv figures/data/matmul.tsv

measure-attention: programs
	$(OBJ)/tp bench attention --tsv figures/data/attention-scaling.tsv

# GPT trained with each attention, on all threads and on one: a speed
# claim compares the methods at equal parallelism, both ways.
measure-quadratic: programs
	$(OBJ)/tp quadratic compare --tsv figures/data/quadratic-gpt.tsv
	$(OBJ)/tp quadratic compare --threads 1 \
	    --tsv figures/data/quadratic-gpt-1thread.tsv

# The Performer: the error of FAVOR+ against m, its time against T on one
# thread and all (with one head only tiled attention uses a second thread), and a small
# GPT trained with each attention; about 8 minutes on two cores.
measure-performer: programs
	$(OBJ)/tp performer compare --error-tsv figures/data/performer-error.tsv \
	    --time-tsv figures/data/performer-time.tsv
	$(OBJ)/tp performer train --tsv figures/data/performer-gpt.tsv

# The Reformer: the activation memory and time of a training step against
# depth, standard, checkpointed, reversible and the Reformer; LSH attention
# against dense attention, time and memory against T, recall and error
# against the rounds; then a small GPT and the Reformer language model of the
# same parameters trained on the book for 400 steps. One thread (the chapter
# says why); about four minutes, then five for the training, on two cores.
measure-reformer: programs
	$(OBJ)/tp reformer memory --tsv figures/data/reformer-memory.tsv
	$(OBJ)/tp reformer lsh --tsv figures/data/reformer-lsh.tsv \
	    --recall-tsv figures/data/reformer-recall.tsv
	OMP_NUM_THREADS=1 $(OBJ)/tp reformer train --steps 400 --eval-every 50 \
	    --tsv figures/data/reformer-train.tsv \
	    --cost-tsv figures/data/reformer-train-cost.tsv

# The Longformer: the attention's training step against T, dense, tiled,
# windowed and windowed with a global token, one thread and all; then a
# classifier of 2,048-token documents trained with and without its global
# token, on one thread. On two loaded cores with OpenBLAS's generic kernels
# each took about 20 minutes, most of the first the tiled dense steps at
# T = 16,384 (tp longformer compare --max 8192 takes a quarter of it).
measure-longformer: programs
	$(OBJ)/tp longformer compare --tsv figures/data/longformer-time.tsv
	OMP_NUM_THREADS=1 $(OBJ)/tp longformer train \
	    --tsv figures/data/longformer-task.tsv

# The Sparse Transformer (book/248): one attention training step of dense,
# strided and fixed attention against N = 1,024 ... 16,384, on one thread and
# on all that OMP_NUM_THREADS allows; then three small GPTs trained on 32x32
# pictures at equal steps, and pictures drawn from each. About 3 minutes of
# processor time at OMP_NUM_THREADS=1; it took 14 minutes of wall time on two
# cores shared with other work (load average 13).
measure-sparse: programs
	$(OBJ)/tp sparse compare --tsv figures/data/sparse-time.tsv
	OMP_NUM_THREADS=1 $(OBJ)/tp sparse train --steps 150 --width 32 \
	    --heads 2 --batch 4 --eval-every 25 --eval-images 8 \
	    --tsv figures/data/sparse-bpp.tsv \
	    --samples-tsv figures/data/sparse-samples.tsv --save $(OBJ)/sparse
	$(OBJ)/tp sparse attention --load $(OBJ)/sparse-strided.safetensors \
	    --tsv figures/data/sparse-attention.tsv

# Every encoding of positions: a task that needs order (No sense of order),
# and the loss past the training length, RoPE scaled three ways (Length
# generalisation).
# Losses, not times, so one thread: the same numbers, and no fight for the
# cores with whatever else runs.
measure-positions: programs
	$(OBJ)/tp order compare --threads 1 --tsv figures/data/order-reverse.tsv
	$(OBJ)/tp length compare --threads 1 \
	    --tsv figures/data/length-extrapolation.tsv

# Noise tokens and padding: the padding of the book's lines, GPT steps padded
# and packed, two classifiers with and without the padding mask, and token
# pruning. One thread: packed and padded steps run the same operators with
# the same parallel loops, so their ratio is one of work. About 3 minutes of
# one core (14 on a shared, loaded machine).
measure-data: programs
	OMP_NUM_THREADS=1 $(OBJ)/tp bench tokenize | tee figures/data/data-tokenize.txt

measure-noise: programs
	OMP_NUM_THREADS=1 $(OBJ)/tp noise compare --tsv-prefix figures/data/noise
	OMP_NUM_THREADS=1 $(OBJ)/tp noise gating --tsv figures/data/noise-gating.tsv

measure-vanilla: programs
	$(OBJ)/tp translate train --out $(BUILD)/translate.safetensors \
	    | tee figures/data/vanilla-train.txt
	$(OBJ)/tp translate run --model $(BUILD)/translate.safetensors \
	    --test 1000 | tee -a figures/data/vanilla-train.txt
	$(OBJ)/tp translate run --model $(BUILD)/translate.safetensors \
	    --test 1000 --beam 4 --attention figures/data/vanilla-attention.tsv \
	    305017040 | tee -a figures/data/vanilla-train.txt

measure-localbias: programs
	OMP_NUM_THREADS=1 $(OBJ)/tp localbias compare \
	    --tsv figures/data/localbias-compare.tsv \
	    --shuffle-tsv figures/data/localbias-shuffle.tsv
	OMP_NUM_THREADS=1 $(OBJ)/tp localbias waves \
	    --tsv figures/data/localbias-waves.tsv

measure-vit: programs
	$(OBJ)/tp vit train --out $(BUILD)/vit.safetensors \
	    | tee figures/data/vit-train.txt
	$(OBJ)/tp vit eval --model $(BUILD)/vit.safetensors \
	    --attention figures/data/vit-attention.tsv \
	    | tee -a figures/data/vit-train.txt

# BERT: pre-training, two filled-in texts and the attention over the first,
# then fine-tuning from scratch and from the pre-trained model at five sizes
# of the training set (0: all of it), with three seeds (three different
# draws of the lines) at the three smallest. About 15 minutes on two cores.
BERT_FILL := 'for (int i = 0; i [MASK] n; i++)' \
    'the weights of each row sum to [MASK].'
measure-bert: programs
	$(OBJ)/tp bert pretrain --out $(BUILD)/bert.safetensors \
	    | tee figures/data/bert-pretrain.txt
	$(OBJ)/tp bert fill --model $(BUILD)/bert.safetensors \
	    --attention figures/data/bert-attention.tsv $(BERT_FILL) \
	    | tee -a figures/data/bert-pretrain.txt
	for run in 16.1 16.2 16.3 64.1 64.2 64.3 256.1 256.2 256.3 1024.1 0.1; do \
	    n=$${run%.*} seed=$${run#*.}; \
	    $(OBJ)/tp bert finetune --scratch --examples $$n --seed $$seed \
	        || exit 1; \
	    $(OBJ)/tp bert finetune --model $(BUILD)/bert.safetensors \
	        --examples $$n --seed $$seed || exit 1; \
	done | tee figures/data/bert-finetune.txt

# What nvcc gives each kernel on Hopper (sm_90): registers per thread,
# static shared memory, spills. Needs nvcc, not a GPU.
cuda-resources:
	@test -n "$(NVCC)" || { echo "make cuda-resources: no nvcc found" >&2; exit 1; }
	@for f in tangled/cuda/*.cu; do \
	    $(NVCC) -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 \
	        -Itangled/include -Xptxas -v -c $$f -o /dev/null 2>&1 \
	        | awk -f mk/cuda-resources.awk; \
	done

# On a machine with a CUDA GPU: check and time every kernel version.
measure-cuda: programs
	$(OBJ)/tp bench cuda --tsv figures/data/cuda.tsv
	$(OBJ)/tp bench flash --contexts 1024,4096,8192 --dims 64,128 \
	    --heads 8 --cache 32768 --tsv figures/data/flash-cuda.tsv
	python3 tangled/tools/flash_torch.py --contexts 1024,4096,8192 \
	    --dims 64,128 --heads 8 >> figures/data/flash-cuda.tsv

# The roofline of the book's operations on this CPU, and the share of a
# GPT-T training step spent outside its products (book/385).
measure-hardware: programs
	$(OBJ)/tp hardware roofline --threads 1 \
	    --tsv figures/data/hardware-roofline.tsv \
	    --step-tsv figures/data/hardware-step.tsv

# Deep GPTs trained with each fix for training instability: the gradients
# per block, the recipes side by side, and the grid of learning rates.
# The spikes run beside the three commands, not before them, so that
# `make -j2 measure-depth` keeps both cores busy.
measure-instability: measure-instability-runs measure-instability-spikes

measure-instability-runs: programs
	$(OBJ)/tp instability gradients --tsv figures/data/instability-gradients.tsv
	$(OBJ)/tp instability compare --tsv figures/data/instability-compare.tsv
	$(OBJ)/tp instability grid --tsv figures/data/instability-grid.tsv

# Depth 24 (width 32): post-LN without warm-up and pre-LN with it, at four
# peak rates, from three seeds each: twenty-four runs, 15 minutes on
# the shared two-core machine, one thread.
measure-instability-depth24: programs
	$(OBJ)/tp instability grid --layers 24 --width 32 --heads 4 \
	    --steps 300 --warmup 50 --rates 1e-3,3e-3,1e-2,3e-2 --seeds 3 \
	    --only bare,pre-LN+warm-up --tsv figures/data/instability-depth24.tsv

# Depth 24, wider (64) and longer (500 steps, 16 windows of 64 bytes):
# post-LN without warm-up, pre-LN with it and GPT-2's recipe at three peak
# rates, judged on 64 validation batches. One program per seed, so that
# `make -j2` runs the two seeds on the two cores side by side; and two of
# the recipe's parts (post-LN with warm-up; pre-LN, warm-up and the scaled
# initialisation) at the highest rate, from seed 1.
DEPTH24_WIDE_MODEL = --layers 24 --width 64 --heads 4 --context 64 \
    --batch 16 --steps 500 --warmup 100 --validation 64
DEPTH24_WIDE = $(OBJ)/tp instability grid $(DEPTH24_WIDE_MODEL) \
    --rates 1e-3,3e-3,1e-2 --only bare,pre-LN+warm-up,GPT-2

measure-instability-depth24-wide: measure-instability-depth24-wide-1 \
    measure-instability-depth24-wide-2 measure-instability-depth24-parts

measure-instability-depth24-parts: programs
	$(OBJ)/tp instability grid $(DEPTH24_WIDE_MODEL) --rates 1e-2 \
	    --only warm-up,pre-LN+warm-up+scaled-init \
	    --tsv figures/data/instability-depth24-parts.tsv

measure-instability-depth24-wide-1 measure-instability-depth24-wide-2: \
    programs
	$(DEPTH24_WIDE) --seed $(subst measure-instability-depth24-wide-,,$@) \
	    --tsv figures/data/instability-depth24-wide-$(subst measure-instability-depth24-wide-,,$@).tsv

# The spike detector at a factor of 1.5, every step logged.
measure-instability-spikes: programs
	$(OBJ)/tp instability compare --only GPT-2 --spike 1.5 --log-every 1 \
	    --tsv figures/data/instability-spikes.tsv

# How alike the tokens become with depth, and a deep GPT with each remedy.
measure-oversmoothing: programs
	$(OBJ)/tp oversmoothing compare --tsv figures/data/oversmoothing.tsv

measure-depth: measure-instability measure-oversmoothing

# Data hunger: a ViT on the shapes from 100, 300 and 1,000 labels, from
# scratch, after masked image modelling, after transfer from another task,
# distilled from a small CNN; the CNN itself. Nine minutes of wall time on
# one thread of a loaded, shared two-core machine.
measure-datahunger: programs
	$(OBJ)/tp datahunger compare --tsv figures/data/datahunger.tsv \
	    | tee figures/data/datahunger.txt

# Interpretability: a two-layer attention-only GPT on repeated tokens (6,000
# steps, about a minute on one core), its heads found, ablated and patched;
# the attributions and the rollout of one of its predictions; a small GPT
# trained on the book (600 steps, half a minute) and probes of its layers;
# attention rollout from the classification token of a BERT fine-tuned on
# prose and code lines (300 steps) and of a ViT trained on the shapes (600
# steps). About eight minutes of one core in all (far more wall time on a
# loaded machine).
INDUCTION_MODEL := $(OBJ)/induction.safetensors
measure-interpretability: programs
	$(OBJ)/tp explain induction --tsv figures/data/interpretability-induction.tsv \
	    --save $(INDUCTION_MODEL)
	$(OBJ)/tp explain saliency --model $(INDUCTION_MODEL) \
	    --steps 256 --tsv figures/data/interpretability-saliency.tsv
	$(OBJ)/tp explain rollout --model $(INDUCTION_MODEL) \
	    --tsv figures/data/interpretability-rollout.tsv
	$(OBJ)/tp gpt train --steps 600 --layers 2 --width 64 --heads 2 \
	    --context 64 --batch 8 --save-every 0 --out $(OBJ)/probe-gpt.safetensors
	$(OBJ)/tp explain probe --model $(OBJ)/probe-gpt.safetensors \
	    --tsv figures/data/interpretability-probe.tsv
	$(OBJ)/tp explain rollout --model $(OBJ)/probe-gpt.safetensors \
	    --text "the attention weights of every layer, multiplied through" \
	    --tsv figures/data/interpretability-rollout-book.tsv
	$(OBJ)/tp bert finetune --scratch --out $(OBJ)/explain-bert.safetensors
	$(OBJ)/tp explain bert --model $(OBJ)/explain-bert.safetensors \
	    --tsv figures/data/interpretability-bert.tsv
	$(OBJ)/tp vit train --steps 600 --out $(OBJ)/explain-vit.safetensors
	$(OBJ)/tp explain vit --model $(OBJ)/explain-vit.safetensors \
	    --tsv figures/data/interpretability-vit.tsv

# Slow decoding: a target GPT (4 layers of width 128) and two drafts (a
# quarter and a half of its width), 100 steps each on the book, then
# decoding with and without the cache and speculative decoding. It took 22
# minutes on two cores shared with other work; a few on a quiet machine.
DECODING_TRAIN := $(OBJ)/tp gpt train --steps 100 --context 256 --batch 4 \
    --eval-every 50
measure-decoding: programs
	$(DECODING_TRAIN) --width 128 --out $(BUILD)/decoding-target.safetensors
	$(DECODING_TRAIN) --width 32 --out $(BUILD)/decoding-draft-32.safetensors
	$(DECODING_TRAIN) --width 64 --out $(BUILD)/decoding-draft-64.safetensors
	$(OBJ)/tp decoding compare --target $(BUILD)/decoding-target.safetensors \
	    --tsv figures/data/decoding.tsv $(BUILD)/decoding-draft-32.safetensors \
	    $(BUILD)/decoding-draft-64.safetensors

# Distillation: the draft of width 32 trained for 100 steps (as
# measure-decoding's drafts), then 400, on the soft targets of
# measure-decoding's target (tau 2, lambda 0.5) and on the data alone, then
# each as a speculative draft for that target. It trains the target first
# if measure-decoding has not. About 4 minutes of one core.
DISTILL := $(OBJ)/tp decoding distill \
    --teacher $(BUILD)/decoding-target.safetensors --batch 4 --context 256 \
    --width 32 --temperature 2 --weight 0.5 --rounds 5
measure-distill: programs
	[ -f $(BUILD)/decoding-target.safetensors ] || $(DECODING_TRAIN) \
	    --width 128 --out $(BUILD)/decoding-target.safetensors
	$(DISTILL) --steps 100 --tsv figures/data/decoding-distill.tsv
	$(DISTILL) --steps 400 --tsv figures/data/decoding-distill-400.tsv

# Mask-predict: an autoregressive encoder-decoder and a mask-predict model of
# the same size, the same steps on numbers in English, then both decode 300
# held-out numbers (mask-predict at T = 1, 2, 4, 10), on one thread.
measure-maskpredict: programs
	OMP_NUM_THREADS=1 $(OBJ)/tp decoding maskpredict --steps 2000 --batch 32 \
	    --width 64 --test 300 --tsv figures/data/decoding-maskpredict.tsv

# Memory: a training step counted at 1 to 8 layers of GPT-T's width, with
# and without checkpoints; the KV caches on measure-decoding's target.
measure-memory: programs
	[ -f $(BUILD)/decoding-target.safetensors ] || $(DECODING_TRAIN) \
	    --width 128 --out $(BUILD)/decoding-target.safetensors
	$(OBJ)/tp memory compare --model $(BUILD)/decoding-target.safetensors \
	    --tsv figures/data/memory.tsv

# The Switch Transformer: a dense GPT, Switch GPTs with four and eight
# experts (the same arithmetic per token) and a dense GPT as wide as the
# four experts' parameters; then the load with and without the balancing
# loss. Losses, not times: one thread; six trainings of 600 steps, about
# fifteen minutes of one processor.
measure-switch: programs
	OMP_NUM_THREADS=1 $(OBJ)/tp switch compare --more-experts 8 \
	    --wide-width 220 --tsv figures/data/switch-compare.tsv
	OMP_NUM_THREADS=1 $(OBJ)/tp switch load \
	    --tsv figures/data/switch-load.tsv \
	    --capacity-tsv figures/data/switch-capacity.tsv

# Transformer-XL against GPT, scaled down from GPT-T (width 128, segments
# of 64): about five minutes of one processor (fourteen of wall time on a
# loaded two-core machine).
measure-xl: programs
	OMP_NUM_THREADS=1 $(OBJ)/tp xl compare --steps 600 --width 128 \
	    --context 64 --segments 24 --generate 256 \
	    --tsv figures/data/xl-context.tsv \
	    --decoding-tsv figures/data/xl-decoding.tsv \
	    --attention-tsv figures/data/xl-attention.tsv
# Fixed context: GPT, Transformer-XL and Mamba trained on recalling a fact,
# GPT read with retrieval and a kNN memory (accuracies: one thread); then
# the time of a generated token against the context, and of a kNN query
# against the memory's size. 19 minutes of wall time on two cores shared
# with other work (5.5 minutes of processor time), mostly training.
measure-context: programs
	OMP_NUM_THREADS=1 $(OBJ)/tp context compare \
	    --tsv figures/data/context-recall.tsv
	$(OBJ)/tp context decode --tsv figures/data/context-decode.tsv
	OMP_NUM_THREADS=1 $(OBJ)/tp context knn --tsv figures/data/context-knn.tsv
# No streaming: a GPT with rotary positions and a Transformer-XL of the
# same shape, 600 steps each on the book (kept in build/ for the next
# run), read four streams of 16 contexts every way, on one thread. On two
# heavily shared cores the comparison took 4 minutes, the two trainings
# 8 and 21 (run once; a second run reuses the models).
STREAM_GPT := $(BUILD)/stream-gpt.safetensors
STREAM_XL := $(BUILD)/stream-xl.safetensors
STREAM_SHAPE := --context 64 --width 128 --layers 4 --heads 4 --batch 8 \
    --steps 600 --eval-every 200
measure-stream: programs
	[ -f $(STREAM_GPT) ] || OMP_NUM_THREADS=1 $(OBJ)/tp gpt train \
	    --positions rope $(STREAM_SHAPE) --out $(STREAM_GPT)
	[ -f $(STREAM_XL) ] || OMP_NUM_THREADS=1 $(OBJ)/tp xl train \
	    --memory 64 $(STREAM_SHAPE) --out $(STREAM_XL)
	OMP_NUM_THREADS=1 $(OBJ)/tp stream compare --model $(STREAM_GPT) \
	    --xl $(STREAM_XL) --streams 4 \
	    --tsv figures/data/stream-perplexity.tsv \
	    --cost-tsv figures/data/stream-cost.tsv
# Compute cost: the operations of GPT-T and GPT-I against the clock; a
# GPT-T trained for 150 steps (kept in build/ for the next run),
# quantised both ways and its validation loss in each; decoding a GPT of
# width 1024 and 12 layers in 32 bits, int8 and int4. It took 20 minutes
# on two heavily shared cores, 12 of them training; a second run reuses
# the trained model and takes about 8.
COMPUTE_MODEL := $(BUILD)/compute-gpt.safetensors
measure-compute: programs
	$(OBJ)/tp compute flops --tsv figures/data/compute-flops.tsv
	[ -f $(COMPUTE_MODEL) ] || $(OBJ)/tp gpt train --steps 150 \
	    --eval-every 50 --out $(COMPUTE_MODEL)
	$(OBJ)/tp gpt quantise $(COMPUTE_MODEL) $(BUILD)/compute-gpt-int8.safetensors
	$(OBJ)/tp gpt quantise --scheme int4 $(COMPUTE_MODEL) \
	    $(BUILD)/compute-gpt-int4.safetensors
	$(OBJ)/tp compute loss --model $(COMPUTE_MODEL) --windows 64 \
	    --tsv figures/data/compute-loss.tsv \
	    $(BUILD)/compute-gpt-int8.safetensors $(BUILD)/compute-gpt-int4.safetensors
	$(OBJ)/tp bench quant --tsv figures/data/compute-quant.tsv
	$(OBJ)/tp compute fusion --tsv figures/data/compute-fusion.tsv
# Lightweight models: nine GPTs, widths 32, 64, 128 (heads of 32) by 1, 2,
# 4 layers, each trained on one thread for the same 1000 steps of 8 x 128
# bytes of the book (kept in build/: delete them to retrain), then their
# operations per token, validation losses and Pareto frontier. About 7
# minutes of one core's time (100 steps of each shape, timed, times ten);
# 28 minutes on two cores shared with other work (load average about 10).
FRONTIER_WIDTHS := 32 64 128
FRONTIER_LAYERS := 1 2 4
measure-frontier: programs
	for w in $(FRONTIER_WIDTHS); do for l in $(FRONTIER_LAYERS); do \
	    f=$(BUILD)/frontier-w$$w-l$$l.safetensors; \
	    [ -f $$f ] || OMP_NUM_THREADS=1 $(OBJ)/tp gpt train --width $$w \
	        --layers $$l --heads $$((w / 32)) --steps 1000 \
	        --eval-every 1000 --save-every 0 --out $$f || exit 1; \
	done; done
	OMP_NUM_THREADS=1 $(OBJ)/tp compute frontier --windows 64 \
	    --tsv figures/data/compute-frontier.tsv \
	    $(foreach w,$(FRONTIER_WIDTHS),$(foreach l,$(FRONTIER_LAYERS),\
	    $(BUILD)/frontier-w$(w)-l$(l).safetensors))
# Real-time deployment: the largest models a budget holds (counts); an
# int8 GPT-T (one training step: the timings do not depend on the weights)
# decoded by tp-edge linked both ways, on one thread; the latency of a GPT
# of width 512 and 8 layers, 24 prompts of each scheme on one thread and
# on all; nice. On two cores shared with a dozen other processes it took
# 20 minutes, 15 of them the two-thread half (1 minute for the rest); on
# an idle machine (2 cores of a Zen 5 EPYC) the latency run took 14 s.
DEPLOY_MODEL := $(BUILD)/deploy-gpt.safetensors
DEPLOY_INT8 := $(BUILD)/deploy-gpt-int8.safetensors
measure-deployment: programs edge
	$(OBJ)/tp deploy budget --tsv figures/data/deployment-budget.tsv
	[ -f $(DEPLOY_MODEL) ] || OMP_NUM_THREADS=1 $(OBJ)/tp gpt train \
	    --steps 1 --out $(DEPLOY_MODEL) > /dev/null
	$(OBJ)/tp gpt quantise $(DEPLOY_MODEL) $(DEPLOY_INT8)
	$(OBJ)/tp gpt export --model $(DEPLOY_MODEL) --onnx $(BUILD)/deploy-gpt.onnx
	$(OBJ)/tp-edge --machine > figures/data/deployment-edge.tsv
	OMP_NUM_THREADS=1 nice -n 10 $(OBJ)/tp-edge --bench shared $(DEPLOY_INT8) \
	    >> figures/data/deployment-edge.tsv
	OMP_NUM_THREADS=1 nice -n 10 $(OBJ)/tp-edge-static --bench static \
	    $(DEPLOY_INT8) >> figures/data/deployment-edge.tsv
	cat figures/data/deployment-edge.tsv
	nice -n 10 $(OBJ)/tp bench latency \
	    --tsv figures/data/deployment-latency.tsv \
	    --gaps-tsv figures/data/deployment-gaps.tsv
# Model size: a GPT of width 128 trained on the book, fine-tuned on the GPL
# (a Debian system's /usr/share/common-licenses) in full and with adapters,
# pruned, and with adapters on its NF4 copy; then the sparse product timed
# on one thread and all; last, three GPTs of the base's shape trained on
# the book for 200 steps, one of them sharing one block across its layers
# (ALBERT). Losses on one thread; about 16 minutes on two cores shared
# with other work, and the sharing about as long again.
SIZE_BASE := $(BUILD)/size-base.safetensors
# Problem 16, dense inputs: forward passes timed on one thread and on as
# many as OMP_NUM_THREADS allows (about a minute), then two small models
# trained on moving shapes (about a minute each on one core).
measure-dense: programs
	$(OBJ)/tp dense cost --runs 5 --tsv figures/data/dense-cost.tsv
	$(OBJ)/tp dense stages --runs 5 --tsv figures/data/dense-stages.tsv
	$(OBJ)/tp dense video --tsv figures/data/dense-video.tsv

measure-size: programs
	OMP_NUM_THREADS=1 $(OBJ)/tp gpt train --steps 300 --width 128 \
	    --eval-every 100 --out $(SIZE_BASE)
	OMP_NUM_THREADS=1 $(OBJ)/tp size compare --model $(SIZE_BASE) \
	    --steps 100 --prune-steps 50 --tsv figures/data/size-finetune.tsv \
	    --prune-tsv figures/data/size-prune.tsv
	OMP_NUM_THREADS=1 $(OBJ)/tp size qlora --model $(SIZE_BASE) \
	    --steps 100 --tsv figures/data/size-qlora.tsv
	$(OBJ)/tp size sparse --tsv figures/data/size-sparse.tsv
	$(OBJ)/tp size bytes --tsv figures/data/size-bytes.tsv
	OMP_NUM_THREADS=1 $(OBJ)/tp size share --steps 200 \
	    --tsv figures/data/size-share.tsv

# GPT-2's block against the modern options, the same shape and steps:
# four key-value heads (GPT-2's), two, one, and two with RMSNorm and
# SwiGLU. Losses, not times: one thread; about ten minutes.
MODERN_SHAPE := --steps 600 --layers 2 --width 128 --heads 4 --context 128 \
    --batch 8 --eval-every 100 --save-every 0
measure-modern: programs
	OMP_NUM_THREADS=1 $(OBJ)/tp gpt train $(MODERN_SHAPE) \
	    --out $(BUILD)/modern-mha.safetensors \
	    --curve figures/data/gpt-modern-mha.tsv
	OMP_NUM_THREADS=1 $(OBJ)/tp gpt train $(MODERN_SHAPE) --kv-heads 2 \
	    --out $(BUILD)/modern-gqa.safetensors \
	    --curve figures/data/gpt-modern-gqa.tsv
	OMP_NUM_THREADS=1 $(OBJ)/tp gpt train $(MODERN_SHAPE) --kv-heads 1 \
	    --out $(BUILD)/modern-mqa.safetensors \
	    --curve figures/data/gpt-modern-mqa.tsv
	OMP_NUM_THREADS=1 $(OBJ)/tp gpt train $(MODERN_SHAPE) --kv-heads 2 \
	    --norm rms --mlp swiglu --out $(BUILD)/modern-block.safetensors \
	    --curve figures/data/gpt-modern-block.tsv

measure-gpt: programs
	$(OBJ)/tp gpt train --steps 1000 --eval-every 50 \
	    --out $(BUILD)/gpt.safetensors --curve figures/data/gpt-curve.tsv
	$(OBJ)/tp gpt attention --model $(BUILD)/gpt.safetensors \
	    --tsv figures/data/gpt-attention.tsv
	$(OBJ)/tp gpt bench --profile --steps 3 --rounds 3 \
	    --tsv figures/data/gpt-profile.tsv

# ---------------------------------------------------------------- the book
# One noweave run over the whole book, so chunk cross-references and both
# indexes span every chapter; then split into front, main, workshop and back.
TEX := $(BUILD)/tex
WOVEN := $(TEX)/front.tex $(TEX)/main.tex $(TEX)/workshop.tex $(TEX)/back.tex
LATEX_INPUTS := book/transformer-problems.tex book/references.bib

pdf: $(PDF)

$(WOVEN) &: $(CHAPTERS) mk/split-woven.awk
	@mkdir -p $(TEX)
	noweave -n -index $(CHAPTERS) \
	    | sed 's/\\nwfilename{/\n&/g' \
	    | awk -v dir=$(TEX) -f mk/split-woven.awk

pdf: figures

# Program output that the book sets verbatim, so that what the PDF shows is
# what the code does.
$(TEX)/data-samples.txt: programs
	@mkdir -p $(@D)
	$(OBJ)/tp data sample --seed 1 --count 2 --length 6 > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

# The course's assignments, listed in its appendix from the manifest.
$(TEX)/assignments.tex: tangled/course/manifest tangled/course/assignments.awk \
    $(CHAPTERS)
	@mkdir -p $(@D)
	awk -f tangled/course/assignments.awk tangled/course/manifest > $@

# The appendix that lists every generated file with the chapter it comes
# from (mk/file-chapters.awk, which mk/tangle also runs).
$(TEX)/files.tex: $(CHAPTERS) mk/files-table mk/file-chapters.awk \
    book/shared-chunks
	@mkdir -p $(@D)
	mk/files-table $(CHAPTERS) > $@

$(PDF): $(WOVEN) $(LATEX_INPUTS) $(wildcard figures/*.pdf) mk/check-latex-log \
    mk/check-pdf mk/page-counts $(TEX)/data-samples.txt $(TEX)/files.tex \
    $(TEX)/assignments.tex
	cp $(LATEX_INPUTS) $(TEX)/
	cd $(TEX) && latexmk -pdf -interaction=nonstopmode -halt-on-error \
	    -quiet transformer-problems.tex > latexmk.out 2>&1 \
	    || { grep -A12 '^!' transformer-problems.log || tail -n 40 latexmk.out; \
	         echo "LaTeX failed: see $(TEX)/transformer-problems.log"; exit 1; }
	mk/check-latex-log $(TEX)/transformer-problems.log
	mk/check-pdf $(TEX)/transformer-problems.pdf
	cp $(TEX)/transformer-problems.pdf $@
	@pages=$$(pdfinfo $@ | awk '/^Pages/{print $$2}'); \
	    mk/page-counts $(TEX)/transformer-problems.toc $$pages; \
	    echo "The book: $@ ($$pages pages)"

# ---------------------------------------------------------------- installing
# The installed library holds the embedded book too, so that a program of
# one's own has the corpus the commands train on. The shared library is
# built from objects compiled once more as position-independent code.
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0
SONAME := libtp.so.0
PIC_OBJECTS := $(LIB_SOURCES:tangled/src/%.c=$(OBJ)/pic/%.o) \
    $(OBJ)/pic/gen/book-corpus.o $(OBJ)/pic/gen/unicode-classes.o \
    $(CUDA_OBJECTS:$(OBJ)/cuda/%.o=$(OBJ)/pic/cuda/%.o)
INSTALL_FILES := $(OBJ)/install/libtp.a $(OBJ)/install/libtp.so.$(VERSION) \
    $(OBJ)/install/tp.1 $(OBJ)/install/tp.bash

$(OBJ)/pic/%.o: tangled/src/%.c $(OBJ)/flags
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(TP_CFLAGS) $(CFLAGS) -fPIC -c $< -o $@

$(OBJ)/pic/gen/%.o: $(OBJ)/gen/%.c $(OBJ)/flags
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS) -fPIC -c $< -o $@

$(OBJ)/pic/cuda/%.o: tangled/cuda/%.cu tangled/include/tp/kernels.h \
    tangled/include/tp/flash.h $(OBJ)/flags
	@mkdir -p $(@D)
	$(call say,NVCC,$@)
	$(Q)$(NVCC) $(NVCC_FLAGS) -Xcompiler -fPIC -c $< -o $@

$(OBJ)/install/libtp.so.$(VERSION): $(PIC_OBJECTS)
	@mkdir -p $(@D)
	$(call say,LINK,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OBJ)/install/libtp.a: $(LIB_OBJECTS) $(CORPUS)
	@mkdir -p $(@D)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(OBJ)/install/tp.1: $(OBJ)/tp
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)$(OBJ)/tp manual > $@

$(OBJ)/install/tp.bash: $(OBJ)/tp
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)$(OBJ)/tp completion > $@

install: $(OBJ)/tp $(INSTALL_FILES)
	@$(NEED) $(PACKAGES_BUILD)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/tp $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(OBJ)/tp $(DESTDIR)$(PREFIX)/bin/tp
	install -m 644 $(OBJ)/install/libtp.a $(DESTDIR)$(PREFIX)/lib/libtp.a
	install -m 755 $(OBJ)/install/libtp.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libtp.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libtp.so
	install -m 644 tangled/include/tp.h $(DESTDIR)$(PREFIX)/include/tp.h
	install -m 644 tangled/include/tp/*.h $(DESTDIR)$(PREFIX)/include/tp/
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' \
	    'libdir=$${prefix}/lib' '' 'Name: tp' \
	    'Description: the library of Transformer Problems, a literate program in C' \
	    'Version: $(VERSION)' 'Requires.private: cairo pangocairo libcjson' \
	    'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -ltp' \
	    'Libs.private: $(strip $(LDFLAGS) $(LDLIBS))' \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/tp.pc
	install -m 644 $(OBJ)/install/tp.1 $(DESTDIR)$(PREFIX)/share/man/man1/tp.1
	install -m 644 $(OBJ)/install/tp.bash \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tp

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tp $(DESTDIR)$(PREFIX)/lib/libtp.a \
	    $(DESTDIR)$(PREFIX)/lib/libtp.so $(DESTDIR)$(PREFIX)/lib/$(SONAME) \
	    $(DESTDIR)$(PREFIX)/lib/libtp.so.$(VERSION) \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/tp.pc \
	    $(DESTDIR)$(PREFIX)/include/tp.h \
	    $(DESTDIR)$(PREFIX)/share/man/man1/tp.1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tp
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/include/,\
	    $(patsubst tangled/include/%,%,$(wildcard tangled/include/tp/*.h)))
	-rmdir $(DESTDIR)$(PREFIX)/include/tp

clean:
	rm -rf $(BUILD)
