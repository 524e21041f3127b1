/* Runs a file written by `bpnet export --format c` on every image of an
 * uncompressed IDX images file (argv[1]); prints, per image, the predicted
 * class and the probabilities. Built by tests/interop_test.cpp with
 * cc -std=c99 -Wall -Wextra -Werror -pedantic. */
#include <stdio.h>
#include <stdlib.h>

int bpnet_predict(const float *input, float *probabilities);
void bpnet_pixels_to_input(const unsigned char *pixels, float *input);

static unsigned long read_u32(FILE *f) {
  unsigned char b[4];
  if (fread(b, 1, 4, f) != 4) return 0;
  return ((unsigned long)b[0] << 24) | ((unsigned long)b[1] << 16) | ((unsigned long)b[2] << 8) | b[3];
}

int main(int argc, char **argv) {
  unsigned long magic, count, rows, cols, i, j;
  unsigned char *pixels;
  float *input, probabilities[BPNET_TEST_CLASSES];
  FILE *f;
  if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) return 2;
  magic = read_u32(f);
  count = read_u32(f);
  rows = read_u32(f);
  cols = read_u32(f);
  if (magic != 0x803 || rows * cols != BPNET_TEST_INPUTS) return 3;
  pixels = malloc(rows * cols);
  input = malloc(sizeof(float) * rows * cols);
  if (pixels == NULL || input == NULL) return 4;
  for (i = 0; i < count; ++i) {
    if (fread(pixels, 1, rows * cols, f) != rows * cols) return 5;
    bpnet_pixels_to_input(pixels, input);
    printf("%d", bpnet_predict(input, probabilities));
    for (j = 0; j < BPNET_TEST_CLASSES; ++j) printf(" %.9g", probabilities[j]);
    printf("\n");
  }
  free(pixels);
  free(input);
  fclose(f);
  return 0;
}
