/* SPDX-License-Identifier: MIT */
/*
 * wire_keyfile.c - reading a key file (dp_key_file_load): a node's peer
 * key, the client key nodes and clients share. Runs on the thread that
 * starts a node or client, or reloads the keys (never an lcore).
 *
 * The format is text so an operator can write one with a shell:
 *
 *     # raftnode key file: "ID HEX", the first key seals
 *     2 8f1c...   (32..128 hex digits)
 *     1 03ab...   (accepted too: a rotation's window)
 *
 * and the file's mode is checked before a byte is read: a key that group or
 * others may read is no secret, one they may write is theirs to choose.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common.h"
#include "wire_internal.h"

/* Longest file we read: two keys of 128 hex digits with comments. */
#define KEYFILE_BYTES_MAX 4096u

static int keyfile_hex(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* One "ID HEX" line into key j. 0 or -DP_ERR_INVALID with why. */
static int keyfile_line(const char *line, struct dp_key_file *f, uint32_t j, const char **why)
{
	char *end = NULL;
	errno = 0;
	unsigned long id = strtoul(line, &end, 10);
	if (end == line || errno != 0 || id == 0 || id > UINT16_MAX || (*end != ' ' && *end != '\t')) {
		*why = "expected \"ID HEX\" with ID 1..65535";
		return -DP_ERR_INVALID;
	}
	while (*end == ' ' || *end == '\t') {
		end++;
	}
	size_t digits = strcspn(end, " \t\r\n");
	if (end[digits] != '\0' && strspn(end + digits, " \t\r\n") != strlen(end + digits)) {
		*why = "text after the key";
		return -DP_ERR_INVALID;
	}
	if (digits % 2 != 0 || digits < 2 * DP_SECRET_BYTES_MIN || digits > 2 * DP_SECRET_BYTES_MAX) {
		*why = "the key must be 32..128 hex digits (16..64 bytes)";
		return -DP_ERR_INVALID;
	}
	for (size_t i = 0; i < digits; i += 2) {
		int hi = keyfile_hex(end[i]), lo = keyfile_hex(end[i + 1]);
		if (hi < 0 || lo < 0) {
			*why = "the key is not hex";
			return -DP_ERR_INVALID;
		}
		f->secret[j][i / 2] = (uint8_t)(hi << 4 | lo);
	}
	for (uint32_t k = 0; k < j; k++) {
		if (f->key_id[k] == id) {
			*why = "the same key id twice";
			return -DP_ERR_INVALID;
		}
	}
	f->key_id[j] = (uint16_t)id;
	f->secret_bytes[j] = (uint32_t)(digits / 2);
	return 0;
}

/* The file's text into f, line by line. */
static int keyfile_parse(char *text, const char *path, struct dp_key_file *f, char *errmsg,
			 size_t errmsg_bytes)
{
	uint32_t line_no = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		line_no++;
		line += strspn(line, " \t\r");
		if (line[0] == '\0' || line[0] == '#') {
			continue;
		}
		const char *why = NULL;
		if (f->count == DP_KEY_FILE_KEYS_MAX) {
			why = "more than 2 keys (the sealing key and one more)";
		} else if (keyfile_line(line, f, f->count, &why) == 0) {
			f->count++;
			continue;
		}
		snprintf(errmsg, errmsg_bytes, "key file %s, line %u: %s", path, line_no, why);
		return -DP_ERR_INVALID;
	}
	if (f->count == 0) {
		snprintf(errmsg, errmsg_bytes, "key file %s: no key (lines \"ID HEX\")", path);
		return -DP_ERR_INVALID;
	}
	return 0;
}

int dp_key_file_load(const char *path, struct dp_key_file *out, char *errmsg,
		     size_t errmsg_bytes)
{
	RN_ASSERT(path != NULL && out != NULL);
	RN_ASSERT(errmsg != NULL && errmsg_bytes > 0);
	memset(out, 0, sizeof(*out));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int rc = -errno;
		snprintf(errmsg, errmsg_bytes, "key file %s: cannot open: %s", path, strerror(errno));
		return rc;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(errmsg, errmsg_bytes, "key file %s: not a regular file", path);
		return -DP_ERR_INVALID;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		close(fd);
		snprintf(errmsg, errmsg_bytes,
			 "key file %s: mode %03o lets group or others read or write it: "
			 "chmod 600 %s",
			 path, (unsigned)(st.st_mode & 0777), path);
		return -DP_ERR_INVALID;
	}
	char text[KEYFILE_BYTES_MAX + 1];
	ssize_t n = read(fd, text, KEYFILE_BYTES_MAX + 1);
	close(fd);
	int rc;
	if (n < 0 || n > (ssize_t)KEYFILE_BYTES_MAX) {
		snprintf(errmsg, errmsg_bytes, "key file %s: %s", path,
			 n < 0 ? "read error" : "larger than 4096 bytes");
		rc = -DP_ERR_INVALID;
	} else if (memchr(text, '\0', (size_t)n) != NULL) {
		snprintf(errmsg, errmsg_bytes,
			 "key file %s: binary (a raw secret_file?): write lines \"ID HEX\"", path);
		rc = -DP_ERR_INVALID;
	} else {
		text[n] = '\0';
		rc = keyfile_parse(text, path, out, errmsg, errmsg_bytes);
	}
	sodium_memzero(text, sizeof(text));
	if (rc != 0) {
		dp_key_file_wipe(out);
	}
	return rc;
}

void dp_key_file_wipe(struct dp_key_file *f)
{
	RN_ASSERT(f != NULL);
	sodium_memzero(f, sizeof(*f));
}
